import { expect } from 'chai';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { CommandType, encodeCommand, type Command, type DeregisterRequest, type RegisterRequest } from '../../../catalog/state/commands.js';
import type { ApplyResult, StateStore } from '../../../catalog/state/store.js';

export const registerCmd = (req: RegisterRequest): Command => ({ type: CommandType.Register, req });
export const deregisterCmd = (req: DeregisterRequest): Command => ({ type: CommandType.Deregister, req });

/** Applies through the encoded form, as a Raft server would, so every test also covers encode/decode. */
export function applyEncoded(s: StateStore, index: number, cmd: Command): ApplyResult {
  return s.applyEntry(index, encodeCommand(cmd));
}

export function mustApply(s: StateStore, index: number, cmd: Command): void {
  const r = applyEncoded(s, index, cmd);
  expect(r, JSON.stringify(r)).to.deep.equal({ ok: true, index });
}

/** A node with a `serfHealth` check, like the leader's member reconciliation writes. */
export function nodeReq(node: string, address: string, status = 'passing'): RegisterRequest {
  return {
    Node: node,
    Address: address,
    Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: status },
  };
}

export function serviceReq(node: string, address: string, id: string, name: string, extra: Partial<NonNullable<RegisterRequest['Service']>> = {}): RegisterRequest {
  return { Node: node, Address: address, Service: { ID: id, Service: name, Port: 8080, ...extra } };
}

/** A seeded random command sequence over a small name space (so updates and deletes collide). */
export function randomCommands(seed: number, count: number): Command[] {
  const rng = new SeededRng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const nodes = ['n1', 'n2', 'N3', 'n4'];
  const names = ['web', 'api', 'db'];
  const statuses = ['passing', 'warning', 'critical', 'maintenance', 'bogus'];
  const out: Command[] = [];
  for (let i = 0; i < count; i++) {
    const node = pick(nodes);
    const r = rng.int(10);
    if (r < 5) {
      const name = pick(names);
      const id = rng.int(5) === 0 ? `x-${rng.int(2)}` : `${name}-${rng.int(2)}`;
      out.push(registerCmd({
        Node: node, Address: `203.0.113.${rng.int(4)}`, NodeMeta: rng.int(2) ? { b: 'x', a: String(rng.int(3)) } : {},
        Service: { ID: id, Service: name, Tags: rng.int(2) ? ['v1'] : ['v2', 'x'], Port: 1000 + rng.int(3) },
        Checks: [
          { CheckID: 'serfHealth', Status: pick(statuses) },
          { CheckID: `${id}-c`, ServiceID: rng.int(8) ? id : 'ghost', Status: pick(statuses) },
        ],
      }));
    } else if (r < 7) {
      out.push(registerCmd({ Node: node, SkipNodeUpdate: true, Check: { CheckID: 'serfHealth', Status: pick(statuses) } }));
    } else if (r < 8) {
      out.push(deregisterCmd({ Node: node, ServiceID: `${pick(names)}-${rng.int(2)}` }));
    } else if (r < 9) {
      out.push(deregisterCmd({ Node: node }));
    } else {
      out.push({ type: CommandType.Batch, commands: [deregisterCmd({ Node: node, CheckID: 'serfHealth' }), registerCmd({ Node: pick(nodes), Address: '203.0.113.111' })] });
    }
  }
  return out;
}

