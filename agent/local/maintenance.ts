/**
 * Maintenance mode, as Consul's agent does it: a critical check that takes the node
 * (`_node_maintenance`) or one service instance (`_service_maintenance:<id>`) out of every
 * healthy answer. The checks live in {@link LocalState} like any other, so they are persisted
 * (maintenance survives a restart) and pushed to the catalog by anti-entropy.
 *
 * Enabling twice keeps the first reason (Consul's behaviour); disabling when not enabled is a
 * no-op.
 */
import type { LocalState } from './state.js';
import type { LocalCheck } from './types.js';

export const NODE_MAINT_CHECK_ID = '_node_maintenance';
export const SERVICE_MAINT_PREFIX = '_service_maintenance:';
export const DEFAULT_NODE_MAINT_REASON = 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.';
export const DEFAULT_SERVICE_MAINT_REASON = 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';

export class UnknownServiceError extends Error {
  override name = 'UnknownServiceError';
  constructor(readonly serviceId: string) {
    super(`Unknown service ID "${serviceId}". Ensure you are using the service ID, not the service name.`);
  }
}

/** What is in maintenance: the node's reason (if it is) and each service's reason by ID. */
export interface MaintenanceStatus {
  node: string | undefined;
  services: Record<string, string>;
}

export class Maintenance {
  constructor(private readonly local: LocalState) {}

  enableNode(reason = ''): void {
    if (this.local.check(NODE_MAINT_CHECK_ID)) return;
    this.local.addCheck(maintCheck(NODE_MAINT_CHECK_ID, 'Node Maintenance Mode', reason || DEFAULT_NODE_MAINT_REASON, ''));
  }

  disableNode(): void {
    this.local.removeCheck(NODE_MAINT_CHECK_ID);
  }

  /** @throws UnknownServiceError when service `id` is not registered on this agent. */
  enableService(id: string, reason = ''): void {
    if (!this.local.service(id)) throw new UnknownServiceError(id);
    const checkId = SERVICE_MAINT_PREFIX + id;
    if (this.local.check(checkId)) return;
    this.local.addCheck(maintCheck(checkId, 'Service Maintenance Mode', reason || DEFAULT_SERVICE_MAINT_REASON, id));
  }

  /** @throws UnknownServiceError when service `id` is not registered on this agent. */
  disableService(id: string): void {
    if (!this.local.service(id)) throw new UnknownServiceError(id);
    this.local.removeCheck(SERVICE_MAINT_PREFIX + id);
  }

  status(): MaintenanceStatus {
    const out: MaintenanceStatus = { node: undefined, services: {} };
    for (const c of this.local.checks()) {
      if (c.Type !== 'maintenance') continue;
      if (c.CheckID === NODE_MAINT_CHECK_ID) out.node = c.Notes;
      else if (c.CheckID.startsWith(SERVICE_MAINT_PREFIX)) out.services[c.ServiceID] = c.Notes;
    }
    return out;
  }
}

function maintCheck(CheckID: string, Name: string, Notes: string, ServiceID: string): LocalCheck {
  return {
    CheckID,
    Name,
    Status: 'critical',
    Notes,
    Output: '',
    ServiceID,
    ServiceName: '',
    ServiceTags: [],
    Type: 'maintenance',
    Definition: {},
  };
}
