/**
 * Catalog register/deregister, Consul's semantics, written against a {@link WriteTx}. Each
 * function either returns an error message (the caller rolls the transaction back) or
 * leaves the transaction holding the complete change. Unchanged rows are not rewritten, so
 * a repeated identical registration moves no index and wakes no watcher.
 */
import type { CheckDefinition, DeregisterRequest, RegisterRequest } from './commands.js';
import type { WriteTx } from './tx.js';
import { HEALTH_STATUSES, nameKey, type CheckRow, type HealthStatus, type NodeRow, type ServiceAddress, type ServiceRow } from './types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const serviceKey = (nodeKey: string, serviceID: string): string => `${nodeKey}\u0000${serviceID}`;
export const checkKey = (nodeKey: string, checkID: string): string => `${nodeKey}\u0000${checkID}`;

/** A copy of `m` with keys in sorted order (equal content, equal encoding). */
export function sortedMap<V>(m: Record<string, V> | null | undefined): Record<string, V> {
  const out: Record<string, V> = {};
  if (m == null) return out;
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
}

/** Deep equality of plain data, ignoring CreateIndex/ModifyIndex at the top level. */
export function sameRow(a: object, b: object): boolean {
  const ka = Object.keys(a).filter((k) => k !== 'CreateIndex' && k !== 'ModifyIndex');
  const kb = Object.keys(b).filter((k) => k !== 'CreateIndex' && k !== 'ModifyIndex');
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Applies a catalog registration; returns an error message or undefined on success. */
export function register(tx: WriteTx, req: RegisterRequest, defaultDatacenter: string): string | undefined {
  if (!req.Node) return 'Must provide node';
  const nk = nameKey(req.Node);
  const existing = tx.nodes.get(nk);

  if (!req.SkipNodeUpdate || existing === undefined) {
    if (!req.Address) return 'Must provide address if SkipNodeUpdate is not set';
    const id = req.ID ?? '';
    if (id !== '') {
      if (!UUID.test(id)) return `Bad node ID "${id}": must be a UUID`;
      for (const other of tx.nodes.by('id', id.toLowerCase())) {
        if (nameKey(other.Node) !== nk) {
          return `node ID "${id}" for node "${req.Node}" aliases existing node "${other.Node}"`;
        }
      }
    }
    const row: NodeRow = {
      ID: id,
      Node: req.Node,
      Address: req.Address,
      Datacenter: req.Datacenter || existing?.Datacenter || defaultDatacenter,
      TaggedAddresses: sortedMap(req.TaggedAddresses),
      Meta: sortedMap(req.NodeMeta),
      CreateIndex: existing?.CreateIndex ?? tx.index,
      ModifyIndex: tx.index,
    };
    if (existing === undefined || !sameRow(existing, row)) tx.putNode(row);
  }
  const nodeName = tx.nodes.get(nk)!.Node;

  if (req.Service) {
    const s = req.Service;
    if (!s.Service) return 'Must provide service name';
    const id = s.ID || s.Service;
    const port = s.Port ?? 0;
    if (port < 0 || port > 65535) return `Service.Port: ${port} is out of range 0-65535`;
    const w = s.Weights ?? { Passing: 1, Warning: 1 };
    if ((w.Passing ?? 0) < 1 || (w.Warning ?? 0) < 0) return 'Service.Weights: Passing must be >= 1 and Warning >= 0';
    const tagged: Record<string, ServiceAddress> = {};
    for (const [k, a] of Object.entries(sortedMap(s.TaggedAddresses))) tagged[k] = { Address: a.Address ?? '', Port: a.Port ?? 0 };
    const old = tx.services.get(serviceKey(nk, id));
    const row: ServiceRow = {
      Node: nodeName,
      ID: id,
      Service: s.Service,
      Tags: [...(s.Tags ?? [])],
      Address: s.Address ?? '',
      TaggedAddresses: tagged,
      Meta: sortedMap(s.Meta),
      Port: port,
      Weights: { Passing: w.Passing ?? 1, Warning: w.Warning ?? 1 },
      EnableTagOverride: s.EnableTagOverride ?? false,
      Kind: s.Kind ?? '',
      CreateIndex: old?.CreateIndex ?? tx.index,
      ModifyIndex: tx.index,
    };
    if (old === undefined || !sameRow(old, row)) tx.putService(row);
  }

  const checks: CheckDefinition[] = [];
  if (req.Check) checks.push(req.Check);
  if (req.Checks) checks.push(...req.Checks);
  for (const c of checks) {
    const err = registerCheck(tx, c, req.Node, nk, nodeName);
    if (err !== undefined) return err;
  }
  return undefined;
}

function registerCheck(tx: WriteTx, c: CheckDefinition, reqNode: string, nk: string, nodeName: string): string | undefined {
  if (c.Node && nameKey(c.Node) !== nk) return `Check node "${c.Node}" does not match registration node "${reqNode}"`;
  const checkID = c.CheckID || c.Name || '';
  if (checkID === '') return 'Must provide check CheckID or Name';
  const status = (c.Status || 'critical') as HealthStatus;
  if (!HEALTH_STATUSES.includes(status)) return `Check "${checkID}": invalid Status "${c.Status}"`;
  let serviceName = '';
  let serviceTags: string[] = [];
  const serviceID = c.ServiceID ?? '';
  if (serviceID !== '') {
    const svc = tx.services.get(serviceKey(nk, serviceID));
    if (svc === undefined) return `Missing service registration: check "${checkID}" refers to service "${serviceID}" not on node "${nodeName}"`;
    serviceName = svc.Service;
    serviceTags = [...svc.Tags];
  }
  const old = tx.checks.get(checkKey(nk, checkID));
  const row: CheckRow = {
    Node: nodeName,
    CheckID: checkID,
    Name: c.Name ?? '',
    Status: status,
    Notes: c.Notes ?? '',
    Output: c.Output ?? '',
    ServiceID: serviceID,
    ServiceName: serviceName,
    ServiceTags: serviceTags,
    Type: c.Type ?? '',
    Definition: c.Definition == null ? null : sortedMap(c.Definition),
    CreateIndex: old?.CreateIndex ?? tx.index,
    ModifyIndex: tx.index,
  };
  if (old === undefined || !sameRow(old, row)) tx.putCheck(row);
  return undefined;
}

/** Applies a catalog deregistration; a missing node, service or check is not an error. */
export function deregister(tx: WriteTx, req: DeregisterRequest): string | undefined {
  if (!req.Node) return 'Must provide node';
  const nk = nameKey(req.Node);
  if (tx.nodes.get(nk) === undefined) return undefined;
  const serviceID = req.ServiceID ?? '';
  const checkID = req.CheckID ?? '';
  if (serviceID !== '') {
    const svc = tx.services.get(serviceKey(nk, serviceID));
    if (svc !== undefined) tx.deleteService(svc);
  }
  if (checkID !== '') {
    const chk = tx.checks.get(checkKey(nk, checkID));
    if (chk !== undefined) tx.deleteCheck(chk);
  }
  if (serviceID === '' && checkID === '') tx.deleteNode(nk);
  return undefined;
}
