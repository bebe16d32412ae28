/**
 * Consul's JSON shapes of catalog data, built from rows. Every view is a fresh object (maps and
 * arrays copied), so callers may keep or change it without touching the state.
 */
import type { CheckRow, HealthStatus, NodeRow, ServiceAddress, ServiceRow, StringMap, Weights } from './types.js';

/** `/v1/catalog/nodes` element and the `Node` of a health result. */
export interface NodeView {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: StringMap;
  Meta: StringMap;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Consul's NodeService: `/v1/catalog/node/:node` Services values, health result `Service`. */
export interface NodeServiceView {
  /** Present only when not '' (Consul omits an empty Kind). */
  Kind?: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses: Record<string, ServiceAddress>;
  Meta: StringMap;
  Port: number;
  Weights: Weights;
  EnableTagOverride: boolean;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Consul's CatalogService: `/v1/catalog/service/:name` element. */
export interface CatalogServiceView {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: StringMap;
  NodeMeta: StringMap;
  ServiceKind: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  ServiceAddress: string;
  ServiceTaggedAddresses: Record<string, ServiceAddress>;
  ServiceWeights: Weights;
  ServiceMeta: StringMap;
  ServicePort: number;
  ServiceEnableTagOverride: boolean;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Consul's HealthCheck: `/v1/health/*` check element. */
export interface HealthCheckView {
  Node: string;
  CheckID: string;
  Name: string;
  Status: HealthStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Definition: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Consul's CheckServiceNode: `/v1/health/service/:name` element. */
export interface CheckServiceNodeView {
  Node: NodeView;
  Service: NodeServiceView;
  /** Node-level checks first, then the instance's own checks; each group sorted by CheckID. */
  Checks: HealthCheckView[];
}

/** `/v1/catalog/node/:node` body. */
export interface NodeInfoView {
  Node: NodeView;
  Services: Record<string, NodeServiceView>;
}

/** `/v1/catalog/node-services/:node` body. */
export interface NodeServicesView {
  Node: NodeView;
  Services: NodeServiceView[];
}

/**
 * One instance of a service as DNS needs it: where to reach it and how healthy it is.
 * `Status` is the worst status of the node's checks and the instance's checks ('passing'
 * when there are none); maintenance ranks worst.
 */
export interface ServiceInstanceView {
  Node: string;
  NodeID: string;
  Datacenter: string;
  NodeAddress: string;
  NodeTaggedAddresses: StringMap;
  NodeMeta: StringMap;
  ServiceID: string;
  ServiceName: string;
  ServiceKind: string;
  /** '' when the instance uses the node address. */
  ServiceAddress: string;
  ServiceTaggedAddresses: Record<string, ServiceAddress>;
  ServicePort: number;
  ServiceTags: string[];
  ServiceMeta: StringMap;
  ServiceWeights: Weights;
  Status: HealthStatus;
}

/** Answer of an address lookup (DNS PTR): nodes and service instances using an IP. */
export interface AddressLookupView {
  Nodes: NodeView[];
  Services: CatalogServiceView[];
}

const copyTagged = (m: Record<string, ServiceAddress>): Record<string, ServiceAddress> => {
  const out: Record<string, ServiceAddress> = {};
  for (const [k, v] of Object.entries(m)) out[k] = { Address: v.Address, Port: v.Port };
  return out;
};

export function nodeView(n: NodeRow): NodeView {
  return {
    ID: n.ID,
    Node: n.Node,
    Address: n.Address,
    Datacenter: n.Datacenter,
    TaggedAddresses: { ...n.TaggedAddresses },
    Meta: { ...n.Meta },
    CreateIndex: n.CreateIndex,
    ModifyIndex: n.ModifyIndex,
  };
}

export function nodeServiceView(s: ServiceRow): NodeServiceView {
  const v: NodeServiceView = {
    ID: s.ID,
    Service: s.Service,
    Tags: [...s.Tags],
    Address: s.Address,
    TaggedAddresses: copyTagged(s.TaggedAddresses),
    Meta: { ...s.Meta },
    Port: s.Port,
    Weights: { Passing: s.Weights.Passing, Warning: s.Weights.Warning },
    EnableTagOverride: s.EnableTagOverride,
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
  return s.Kind === '' ? v : { Kind: s.Kind, ...v };
}

export function catalogServiceView(n: NodeRow, s: ServiceRow): CatalogServiceView {
  return {
    ID: n.ID,
    Node: n.Node,
    Address: n.Address,
    Datacenter: n.Datacenter,
    TaggedAddresses: { ...n.TaggedAddresses },
    NodeMeta: { ...n.Meta },
    ServiceKind: s.Kind,
    ServiceID: s.ID,
    ServiceName: s.Service,
    ServiceTags: [...s.Tags],
    ServiceAddress: s.Address,
    ServiceTaggedAddresses: copyTagged(s.TaggedAddresses),
    ServiceWeights: { Passing: s.Weights.Passing, Warning: s.Weights.Warning },
    ServiceMeta: { ...s.Meta },
    ServicePort: s.Port,
    ServiceEnableTagOverride: s.EnableTagOverride,
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
}

export function healthCheckView(c: CheckRow, nodeName: string): HealthCheckView {
  return {
    Node: nodeName,
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    ServiceTags: [...c.ServiceTags],
    Type: c.Type,
    Definition: c.Definition === null ? {} : structuredClone(c.Definition),
    CreateIndex: c.CreateIndex,
    ModifyIndex: c.ModifyIndex,
  };
}

const RANK: Record<HealthStatus, number> = { passing: 0, warning: 1, critical: 2, maintenance: 3 };

/** Worst of `statuses` ('passing' for none); maintenance ranks above critical. */
export function worstStatus(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = 'passing';
  for (const s of statuses) if (RANK[s] > RANK[worst]) worst = s;
  return worst;
}
