import { expect } from 'chai';
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
