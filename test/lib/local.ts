import type { LocalCheck, LocalService } from '../../agent/local/types.js';

/** A local service with test defaults. */
export const svc = (id: string, over: Partial<LocalService> = {}): LocalService => ({
  ID: id,
  Service: 'web',
  Tags: ['v1'],
  Address: '',
  TaggedAddresses: {},
  Meta: { env: 'test' },
  Port: 8080,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
  ...over,
});

/** A TTL check of service `serviceId` ('' for a node check). */
export const ttlCheck = (id: string, serviceId: string, ttl = '10s'): LocalCheck => ({
  CheckID: id,
  Name: `check ${id}`,
  Status: 'critical',
  Notes: '',
  Output: '',
  ServiceID: serviceId,
  ServiceName: '',
  ServiceTags: [],
  Type: 'ttl',
  Definition: { TTL: ttl },
});
