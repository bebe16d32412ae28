import { expect } from 'chai';
import { StateStore } from '../../catalog/state/index.js';
import { CommandType, type Command, type RegisterRequest } from '../../catalog/state/index.js';

/** Applies commands to a real store at increasing indexes. */
export class Catalog {
  readonly store: StateStore;
  private index = 0;
  constructor(datacenter = 'dc1') {
    this.store = new StateStore({ datacenter });
  }
  apply(cmd: Command): void {
    const r = this.store.apply(++this.index, cmd);
    expect(r, JSON.stringify(r)).to.deep.equal({ ok: true, index: this.index });
  }
  register(req: RegisterRequest): this {
    this.apply({ type: CommandType.Register, req });
    return this;
  }
  deregister(node: string, serviceId?: string): this {
    this.apply({ type: CommandType.Deregister, req: serviceId === undefined ? { Node: node } : { Node: node, ServiceID: serviceId } });
    return this;
  }
  /** A node with a serfHealth check in `serf` state. */
  node(name: string, address: string, serf = 'passing', meta: Record<string, string> = {}): this {
    return this.register({ Node: name, Address: address, NodeMeta: meta, Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: serf } });
  }
  /** A service instance with one service check in `status`. */
  service(node: string, id: string, name: string, status = 'passing', extra: Partial<NonNullable<RegisterRequest['Service']>> = {}): this {
    return this.register({
      Node: node, SkipNodeUpdate: true, Address: 'x',
      Service: { ID: id, Service: name, Port: 8080, ...extra },
      Check: { CheckID: `check-${id}`, Name: `check ${id}`, ServiceID: id, Status: status },
    });
  }
}

/** `web` on three healthy nodes (203.0.113.1-3). */
export function webCatalog(): Catalog {
  const c = new Catalog();
  for (let i = 1; i <= 3; i++) c.node(`n${i}`, `203.0.113.${i}`).service(`n${i}`, `web${i}`, 'web', 'passing', { Port: 8000 + i });
  return c;
}
