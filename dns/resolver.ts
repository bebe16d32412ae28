/**
 * The DNS resolver: a question plus a catalog reader gives a response description.
 *
 * Pure: no sockets, files, timers or clock; randomness only through the `rng` function given
 * to {@link materialize}. {@link resolve} itself is deterministic (instances in catalog
 * order), so its result can be encoded once and cached; shuffling and record limits are
 * applied per query on the encoded form (see cache.ts) or by {@link materialize}.
 *
 * Semantics (Consul's, with the departures the DNS issue asks for):
 * - Service lookups answer healthy instances only: any critical or maintenance check
 *   (serfHealth included) removes an instance; warning is kept unless `onlyPassing`.
 * - A/AAAA come from the service address, else the node address; a host name gives a CNAME.
 *   ANY is answered like A (plus TXT for nodes).
 * - SRV: `1 <weight> <port> <target>` where target is `<node>.node.<dc>.<domain>`, or
 *   `<hex>.addr.<dc>.<domain>` when the instance has its own IP, or the instance's host name;
 *   the target's address records (and, with `nodeMetaTxt`, its node's meta as TXT) go in the
 *   additional section; node A/AAAA answers carry the node meta TXT in additional too.
 * - NXDOMAIN with the SOA in authority for an unknown name or no healthy instance; NOERROR,
 *   no answers and the SOA for a known name without records of the asked type.
 */
import type { Answer, SoaAnswer } from 'dns-packet';
import type { WatchKey } from '../catalog/state/index.js';
import { ipFamily, ipToHex, normalizeName, parseName, type ParsedName } from './names.js';
import type { DnsCatalogReader, DnsNode } from './reader.js';

/** Record types the resolver distinguishes; anything else is `OTHER` (answered with no data). */
export type QType = 'A' | 'AAAA' | 'ANY' | 'CNAME' | 'NS' | 'PTR' | 'SOA' | 'SRV' | 'TXT' | 'OTHER';

export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';

export interface Question {
  /** Query name; compared case-insensitively, used (without trailing dot) as the owner name of answers. */
  name: string;
  type: QType;
}

/** SOA timers in seconds (Consul's `dns_config.soa`). */
export interface SoaOptions {
  /** Zone serial. Default 1; the server passes its start time in seconds. */
  serial?: number;
  /** Default 3600. */
  refresh?: number;
  /** Default 600. */
  retry?: number;
  /** Default 86400. */
  expire?: number;
  /** Negative-caching TTL, also the SOA record's own TTL. Default 0. */
  minTtl?: number;
}

export interface ResolverOptions {
  /** Our zone, default `consul`. */
  domain?: string;
  /** A second zone answered like `domain`; records name the zone the query used. */
  altDomain?: string;
  /** Our datacenter; a name with another datacenter is NXDOMAIN (single DC for now). Default 'dc1'. */
  datacenter?: string;
  /** TTL of node, addr and NS answers, in ms (rounded down to seconds). Default 0. */
  nodeTtlMs?: number;
  /**
   * TTL of service answers in ms by service name: exact names, `prefix*` wildcards and `*`.
   * An exact name wins, then the longest matching prefix. Default 0 for unmatched names.
   */
  serviceTtlMs?: Record<string, number>;
  /** Leave out instances in warning too (Consul's `only_passing`). Default false. */
  onlyPassing?: boolean;
  /**
   * Consul's `enable_additional_node_meta_txt`: the node's meta as TXT records in the
   * additional section of node A/AAAA answers and of SRV answers (one set per target node).
   * Default true. TXT and ANY node queries carry the meta in the answer section either way.
   */
  nodeMetaTxt?: boolean;
  soa?: SoaOptions;
}

/** Answer records that travel together: one instance's answer(s) and their additional records. */
export interface AnswerGroup {
  answers: Answer[];
  additional: Answer[];
}

/** What to reply, before shuffling and limits. */
export interface Resolution {
  rcode: Rcode;
  /** Authoritative (every name in our zones, and reverse names we found). */
  aa: boolean;
  /** Answer groups in catalog order; a group is the unit of shuffling and of record limits. */
  groups: AnswerGroup[];
  /** True when group order carries no meaning (service lookups): shuffle per query. */
  shuffle: boolean;
  authority: Answer[];
  additional: Answer[];
  /** The name is not ours (or an unknown reverse name): forward it when recursors exist. */
  forward: boolean;
  /** Catalog watch keys the resolution read; a change under them may change the answer. */
  deps: WatchKey[];
}

/** Resolver options with defaults applied. */
interface Config {
  domain: string;
  altDomain: string;
  datacenter: string;
  nodeTtl: number;
  serviceTtl: { exact: Map<string, number>; prefixes: Array<[string, number]>; star: number };
  onlyPassing: boolean;
  nodeMetaTxt: boolean;
  soa: Required<SoaOptions>;
}

const configCache = new WeakMap<ResolverOptions, Config>();

function config(o: ResolverOptions): Config {
  let c = configCache.get(o);
  if (c !== undefined) return c;
  const exact = new Map<string, number>();
  const prefixes: Array<[string, number]> = [];
  let star = 0;
  for (const [k, ms] of Object.entries(o.serviceTtlMs ?? {})) {
    const secs = toSeconds(ms);
    const key = k.toLowerCase();
    if (key === '*') star = secs;
    else if (key.endsWith('*')) prefixes.push([key.slice(0, -1), secs]);
    else exact.set(key, secs);
  }
  prefixes.sort((a, b) => b[0].length - a[0].length);
  c = {
    domain: normalizeName(o.domain ?? 'consul'),
    altDomain: normalizeName(o.altDomain ?? ''),
    datacenter: o.datacenter ?? 'dc1',
    nodeTtl: toSeconds(o.nodeTtlMs ?? 0),
    serviceTtl: { exact, prefixes, star },
    onlyPassing: o.onlyPassing ?? false,
    nodeMetaTxt: o.nodeMetaTxt ?? true,
    soa: {
      serial: o.soa?.serial ?? 1,
      refresh: o.soa?.refresh ?? 3600,
      retry: o.soa?.retry ?? 600,
      expire: o.soa?.expire ?? 86400,
      minTtl: o.soa?.minTtl ?? 0,
    },
  };
  configCache.set(o, c);
  return c;
}

const toSeconds = (ms: number): number => (Number.isFinite(ms) && ms > 0 ? Math.min(Math.floor(ms / 1000), 0x7fffffff) : 0);

/** TTL in seconds for a service's records: exact name, then longest `prefix*`, then `*`. */
export function serviceTtl(service: string, opts: ResolverOptions): number {
  const t = config(opts).serviceTtl;
  const key = service.toLowerCase();
  const e = t.exact.get(key);
  if (e !== undefined) return e;
  for (const [p, secs] of t.prefixes) if (key.startsWith(p)) return secs;
  return t.star;
}

/** Resolves one question against the catalog. Deterministic; never throws for any name. */
export function resolve(q: Question, reader: DnsCatalogReader, opts: ResolverOptions = {}): Resolution {
  const c = config(opts);
  const owner = normalizeName(q.name);
  const parsed = parseName(owner, { domain: c.domain, altDomain: c.altDomain });
  const r = new Builder(c, parsed);
  switch (parsed.kind) {
    case 'outside':
      r.rcode = 'REFUSED';
      r.aa = false;
      r.forward = true;
      return r.done();
    case 'invalid':
      return r.nxdomain();
    case 'apex':
      return apex(r, owner, q.type, reader);
    case 'ptr':
      return ptr(r, owner, parsed.ip, q.type, reader);
    case 'addr':
    case 'node':
    case 'service':
      if (parsed.dc !== null && parsed.dc !== c.datacenter.toLowerCase()) return r.nxdomain();
      if (parsed.kind === 'addr') return addr(r, owner, parsed.ip, q.type);
      if (parsed.kind === 'node') return node(r, owner, parsed.node, q.type, reader);
      return service(r, owner, parsed.service, parsed.tag, q.type, reader, opts);
  }
}

/**
 * Applies shuffling and limits to a resolution, for callers without a cache (and tests).
 * `limit` caps the number of answer groups (0 = no cap).
 */
export function materialize(res: Resolution, rng: () => number, limit = 0): { answers: Answer[]; authority: Answer[]; additional: Answer[] } {
  const groups = res.groups.slice();
  if (res.shuffle) shuffleInPlace(groups, rng);
  const chosen = limit > 0 ? groups.slice(0, limit) : groups;
  return {
    answers: chosen.flatMap((g) => g.answers),
    authority: res.authority,
    additional: [...chosen.flatMap((g) => g.additional), ...res.additional],
  };
}

/** Fisher–Yates with `rng` uniform in [0, 1). */
export function shuffleInPlace<T>(arr: T[], rng: () => number): T[] {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = arr[i] as T;
    arr[i] = arr[j] as T;
    arr[j] = t;
  }
  return arr;
}

class Builder {
  rcode: Rcode = 'NOERROR';
  aa = true;
  groups: AnswerGroup[] = [];
  shuffle = false;
  authority: Answer[] = [];
  additional: Answer[] = [];
  forward = false;
  deps: WatchKey[] = [];
  /** Zone of the answer: the one the query used (the primary one for reverse names). */
  readonly zone: string;

  constructor(readonly c: Config, parsed: ParsedName) {
    this.zone = 'domain' in parsed ? parsed.domain : c.domain;
  }

  read<T>(r: { value: T; watch: WatchKey[] }): T {
    for (const k of r.watch) this.deps.push(k);
    return r.value;
  }

  soa(): SoaAnswer {
    const s = this.c.soa;
    return {
      name: this.zone, type: 'SOA', class: 'IN', ttl: s.minTtl,
      data: {
        mname: `ns.${this.zone}`, rname: `hostmaster.${this.zone}`,
        serial: s.serial, refresh: s.refresh, retry: s.retry, expire: s.expire, minimum: s.minTtl,
      },
    };
  }

  nxdomain(): Resolution {
    this.rcode = 'NXDOMAIN';
    this.groups = [];
    this.authority = [this.soa()];
    return this.done();
  }

  /** NOERROR with no records of the asked type: the SOA in authority (RFC 2308 NODATA). */
  nodata(): Resolution {
    this.groups = [];
    this.authority = [this.soa()];
    return this.done();
  }

  done(): Resolution {
    return {
      rcode: this.rcode, aa: this.aa, groups: this.groups, shuffle: this.shuffle, authority: this.authority,
      additional: this.additional, forward: this.forward, deps: this.deps,
    };
  }

  nodeName(node: string, dc: string): string {
    return `${node.toLowerCase()}.node.${dc.toLowerCase()}.${this.zone}`;
  }
}

/** A/AAAA (or CNAME for a host name) for `address` at `owner`, if it fits `type`. */
function addressRecords(owner: string, address: string, type: QType, ttl: number): Answer[] {
  const fam = ipFamily(address);
  if (fam === 0) {
    if (address === '') return [];
    return type === 'A' || type === 'AAAA' || type === 'ANY' || type === 'CNAME'
      ? [{ name: owner, type: 'CNAME', class: 'IN', ttl, data: normalizeName(address) }]
      : [];
  }
  if (fam === 4 && (type === 'A' || type === 'ANY')) return [{ name: owner, type: 'A', class: 'IN', ttl, data: address }];
  if (fam === 6 && (type === 'AAAA' || type === 'ANY')) return [{ name: owner, type: 'AAAA', class: 'IN', ttl, data: address }];
  return [];
}

/**
 * The address to answer for a wanted family: `primary`, or the `lan_ipv4`/`lan_ipv6` tagged
 * address when the primary is of the other family (Consul's dual-stack tagged addresses).
 */
function pickAddress(primary: string, tagged: Record<string, string>, type: QType): string {
  const fam = ipFamily(primary);
  if (type === 'AAAA' && fam === 4 && tagged.lan_ipv6) return tagged.lan_ipv6;
  if (type === 'A' && fam === 6 && tagged.lan_ipv4) return tagged.lan_ipv4;
  return primary;
}

function taggedOf(m: Record<string, { Address: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[k] = v.Address;
  return out;
}

/**
 * Node meta as TXT records, one per key in key order: `key=value`, or only the value for keys
 * with the `rfc1035-` prefix (Consul's convention for records that must be a bare string).
 */
function txtRecords(owner: string, meta: Record<string, string>, ttl: number): Answer[] {
  return Object.keys(meta).sort().map((k) => ({
    name: owner, type: 'TXT' as const, class: 'IN' as const, ttl,
    data: [k.startsWith(RFC1035_PREFIX) ? meta[k]! : `${k}=${meta[k]}`],
  }));
}

const RFC1035_PREFIX = 'rfc1035-';

function service(r: Builder, owner: string, name: string, tag: string | null, type: QType, reader: DnsCatalogReader, opts: ResolverOptions): Resolution {
  const instances = r.read(reader.serviceInstances(name, tag));
  const healthy = instances.filter((i) => i.Status === 'passing' || (i.Status === 'warning' && !r.c.onlyPassing));
  if (healthy.length === 0) return r.nxdomain();
  const ttl = serviceTtl(name, opts);
  r.shuffle = true;
  if (type === 'SRV') {
    for (const i of healthy) {
      const weight = i.Status === 'passing' ? i.ServiceWeights.Passing : i.ServiceWeights.Warning;
      const svcAddr = i.ServiceAddress;
      let target: string;
      let additional: Answer[];
      if (svcAddr !== '' && svcAddr !== i.NodeAddress) {
        const hex = ipToHex(svcAddr);
        if (hex === null) {
          target = normalizeName(svcAddr);
          additional = [];
        } else {
          target = `${hex}.addr.${i.Datacenter.toLowerCase()}.${r.zone}`;
          additional = addressRecords(target, svcAddr, 'ANY', ttl);
        }
      } else {
        target = r.nodeName(i.Node, i.Datacenter);
        additional = ipFamily(i.NodeAddress) === 0 ? [] : addressRecords(target, i.NodeAddress, 'ANY', ttl);
      }
      if (r.c.nodeMetaTxt) additional.push(...txtRecords(r.nodeName(i.Node, i.Datacenter), i.NodeMeta, ttl));
      r.groups.push({
        answers: [{ name: owner, type: 'SRV', class: 'IN', ttl, data: { priority: 1, weight: clampU16(weight), port: i.ServicePort, target } }],
        additional,
      });
    }
    return r.done();
  }
  if (type !== 'A' && type !== 'AAAA' && type !== 'ANY' && type !== 'CNAME') return r.nodata();
  for (const i of healthy) {
    const addr = i.ServiceAddress !== ''
      ? pickAddress(i.ServiceAddress, taggedOf(i.ServiceTaggedAddresses), type)
      : pickAddress(i.NodeAddress, i.NodeTaggedAddresses, type);
    const answers = addressRecords(owner, addr, type, ttl);
    if (answers.length > 0) r.groups.push({ answers, additional: [] });
  }
  return r.groups.length === 0 ? r.nodata() : r.done();
}

const clampU16 = (n: number): number => (Number.isInteger(n) && n >= 0 ? Math.min(n, 65535) : 1);

function node(r: Builder, owner: string, name: string, type: QType, reader: DnsCatalogReader): Resolution {
  const n = r.read(reader.node(name));
  if (n === null) return r.nxdomain();
  const ttl = r.c.nodeTtl;
  const addr = addressRecords(owner, pickAddress(n.Address, n.TaggedAddresses, type), type, ttl);
  const txt = type === 'TXT' || type === 'ANY' ? txtRecords(owner, n.Meta, ttl) : [];
  const answers = [...addr, ...txt];
  if (answers.length === 0) return r.nodata();
  const metaExtra = r.c.nodeMetaTxt && (type === 'A' || type === 'AAAA') ? txtRecords(owner, n.Meta, ttl) : [];
  r.groups.push({ answers, additional: metaExtra });
  return r.done();
}

function addr(r: Builder, owner: string, ip: string, type: QType): Resolution {
  const answers = addressRecords(owner, ip, type, r.c.nodeTtl);
  if (answers.length === 0) return r.nodata();
  r.groups.push({ answers, additional: [] });
  return r.done();
}

function apex(r: Builder, owner: string, type: QType, reader: DnsCatalogReader): Resolution {
  const wantSoa = type === 'SOA' || type === 'ANY';
  const wantNs = type === 'NS' || type === 'ANY';
  if (!wantSoa && !wantNs) return r.nodata();
  const answers: Answer[] = [];
  if (wantSoa) answers.push(r.soa());
  if (wantNs) {
    const servers: DnsNode[] = r.read(reader.servers());
    for (const s of servers) {
      const ns = r.nodeName(s.Node, s.Datacenter);
      answers.push({ name: owner, type: 'NS', class: 'IN', ttl: r.c.nodeTtl, data: ns });
      for (const a of addressRecords(ns, s.Address, 'ANY', r.c.nodeTtl)) if (a.type !== 'CNAME') r.additional.push(a);
    }
  }
  if (answers.length === 0) return r.nodata();
  r.groups.push({ answers, additional: [] });
  return r.done();
}

function ptr(r: Builder, owner: string, ip: string, type: QType, reader: DnsCatalogReader): Resolution {
  const found = r.read(reader.lookupAddress(ip));
  const names = new Set<string>();
  for (const n of found.Nodes) names.add(r.nodeName(n.Node, n.Datacenter));
  for (const s of found.Services) names.add(`${s.ServiceName.toLowerCase()}.service.${s.Datacenter.toLowerCase()}.${r.zone}`);
  if (names.size === 0) {
    r.forward = true;
    return r.nxdomain();
  }
  if (type !== 'PTR' && type !== 'ANY') return r.nodata();
  r.groups.push({ answers: [...names].map((data) => ({ name: owner, type: 'PTR' as const, class: 'IN' as const, ttl: r.c.nodeTtl, data })), additional: [] });
  return r.done();
}
