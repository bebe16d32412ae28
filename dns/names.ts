/**
 * DNS name parsing: which Consul lookup a query name asks for. Pure functions, no I/O.
 *
 * Forms (labels compared case-insensitively; `<domain>` is `domain` or `altDomain`):
 * - `[tag.]<service>.service[.<dc>].<domain>`
 * - RFC 2782: `_<service>._<tag|tcp|udp>[.service][.<dc>].<domain>` (`tcp`/`udp` mean "no tag")
 * - `<node>.node[.<dc>].<domain>` (a node name may itself contain dots)
 * - `<hex>.addr[.<dc>].<domain>` (8 hex digits: IPv4, 32: IPv6)
 * - `<domain>` itself: the zone apex (SOA, NS)
 * - `<d.c.b.a>.in-addr.arpa` and `<32 nibbles>.ip6.arpa`: reverse lookups (PTR)
 */

export interface NameOptions {
  /** Our zone, e.g. `consul` or `consul.` (trailing dot optional, case ignored). */
  domain: string;
  /** A second zone answered like the first (Consul's `alt_domain`); '' or undefined for none. */
  altDomain?: string;
}

/** What a query name asks for. `domain` is the zone the name used, normalised (`consul`). */
export type ParsedName =
  | { kind: 'service'; domain: string; service: string; tag: string | null; dc: string | null; rfc2782: boolean }
  | { kind: 'node'; domain: string; node: string; dc: string | null }
  | { kind: 'addr'; domain: string; ip: string; family: 4 | 6; dc: string | null }
  | { kind: 'apex'; domain: string }
  | { kind: 'ptr'; ip: string; family: 4 | 6 }
  /** Inside one of our zones but not a form we answer: NXDOMAIN. */
  | { kind: 'invalid'; domain: string }
  /** Not in our zones and not a reverse name: forwarded to recursors, else REFUSED. */
  | { kind: 'outside' };

/** Lower-cases and strips the trailing dot: `Web.Service.CONSUL.` → `web.service.consul`. */
export function normalizeName(name: string): string {
  let n = name.toLowerCase();
  while (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

/** Parses a query name. Never throws; anything unrecognised in our zone is `invalid`. */
export function parseName(qname: string, opts: NameOptions): ParsedName {
  const name = normalizeName(qname);
  for (const d of domains(opts)) {
    if (name === d) return { kind: 'apex', domain: d };
    if (name.endsWith(`.${d}`)) return parseInZone(name.slice(0, -d.length - 1).split('.'), d);
  }
  if (name.endsWith('.in-addr.arpa')) return parseReverse4(name.slice(0, -'.in-addr.arpa'.length));
  if (name.endsWith('.ip6.arpa')) return parseReverse6(name.slice(0, -'.ip6.arpa'.length));
  return { kind: 'outside' };
}

/** Our zones, normalised and longest first (so `a.consul` wins over `consul` when both are set). */
function domains(opts: NameOptions): string[] {
  const out = [normalizeName(opts.domain)];
  if (opts.altDomain) out.push(normalizeName(opts.altDomain));
  return out.filter((d) => d !== '').sort((a, b) => b.length - a.length);
}

function parseInZone(labels: string[], domain: string): ParsedName {
  const invalid: ParsedName = { kind: 'invalid', domain };
  if (labels.some((l) => l === '')) return invalid;
  // RFC 2782 form: `_svc._proto` then optionally `service`, then optionally a dc.
  if (labels.length >= 2 && labels[0]!.startsWith('_') && labels[1]!.startsWith('_')) {
    const rest = labels.slice(2);
    if (rest[0] === 'service') rest.shift();
    if (rest.length > 1) return invalid;
    const service = labels[0]!.slice(1);
    const proto = labels[1]!.slice(1);
    if (service === '' || proto === '') return invalid;
    const tag = proto === 'tcp' || proto === 'udp' ? null : proto;
    return { kind: 'service', domain, service, tag, dc: rest[0] ?? null, rfc2782: true };
  }
  // The kind label is the last or, with a datacenter after it, the second-to-last.
  let k = labels.length - 1;
  if (!isKind(labels[k]) && k >= 1 && isKind(labels[k - 1])) k--;
  const kind = labels[k];
  if (!isKind(kind)) return invalid;
  const dc = k === labels.length - 1 ? null : labels[k + 1]!;
  const parts = labels.slice(0, k);
  if (parts.length === 0) return invalid;
  switch (kind) {
    case 'service': {
      if (parts.length === 1) return { kind: 'service', domain, service: parts[0]!, tag: null, dc, rfc2782: false };
      if (parts.length === 2) {
        if (parts[0]!.startsWith('_') && parts[1]!.startsWith('_')) return invalid;
        return { kind: 'service', domain, service: parts[1]!, tag: parts[0]!, dc, rfc2782: false };
      }
      return invalid;
    }
    case 'node':
      return { kind: 'node', domain, node: parts.join('.'), dc };
    case 'addr': {
      if (parts.length !== 1) return invalid;
      const ip = hexToIp(parts[0]!);
      return ip === null ? invalid : { kind: 'addr', domain, ip: ip.ip, family: ip.family, dc };
    }
  }
}

const KINDS = ['service', 'node', 'addr'] as const;
type Kind = (typeof KINDS)[number];
const isKind = (l: string | undefined): l is Kind => (KINDS as readonly string[]).includes(l ?? '');

const HEX = /^[0-9a-f]+$/;

/** `0a000001` → 10.0.0.1; 32 hex digits → a compressed IPv6 address; else null. */
export function hexToIp(hex: string): { ip: string; family: 4 | 6 } | null {
  const h = hex.toLowerCase();
  if (!HEX.test(h)) return null;
  if (h.length === 8) {
    const b = [0, 2, 4, 6].map((i) => parseInt(h.slice(i, i + 2), 16));
    return { ip: b.join('.'), family: 4 };
  }
  if (h.length === 32) {
    const groups: number[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(parseInt(h.slice(i, i + 4), 16));
    return { ip: formatIpv6(groups), family: 6 };
  }
  return null;
}

/** The `<hex>` label of an `.addr` name for an IP: 10.0.0.1 → `0a000001`. Null for a non-IP. */
export function ipToHex(ip: string): string | null {
  const v4 = parseIpv4(ip);
  if (v4 !== null) return v4.map((b) => b.toString(16).padStart(2, '0')).join('');
  const v6 = parseIpv6(ip);
  if (v6 !== null) return v6.map((g) => g.toString(16).padStart(4, '0')).join('');
  return null;
}

function parseReverse4(rest: string): ParsedName {
  const labels = rest.split('.');
  if (labels.length !== 4 || !labels.every((l) => /^(0|[1-9][0-9]{0,2})$/.test(l) && Number(l) <= 255)) return { kind: 'outside' };
  return { kind: 'ptr', ip: labels.reverse().join('.'), family: 4 };
}

function parseReverse6(rest: string): ParsedName {
  const labels = rest.split('.');
  if (labels.length !== 32 || !labels.every((l) => /^[0-9a-f]$/.test(l))) return { kind: 'outside' };
  const ip = hexToIp(labels.reverse().join(''));
  return ip === null ? { kind: 'outside' } : { kind: 'ptr', ip: ip.ip, family: 6 };
}

/** Four octets of a dotted-quad IPv4 address, or null. */
export function parseIpv4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** Eight 16-bit groups of an IPv6 address (`::` and an embedded IPv4 tail allowed), or null. */
export function parseIpv6(s: string): number[] | null {
  if (s.length > 45 || !s.includes(':')) return null;
  let tail: number[] = [];
  let str = s.toLowerCase();
  const lastColon = str.lastIndexOf(':');
  if (str.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(str.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    str = str.slice(0, lastColon + 1) + '0';
  }
  const halves = str.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const back = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === null || back === null) return null;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - back.length - (tail.length > 0 ? 1 : 0);
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...back];
  } else {
    groups = head;
  }
  if (tail.length > 0) groups = [...groups.slice(0, -1), ...tail];
  return groups.length === 8 ? groups : null;
}

/** RFC 5952 text of eight groups: lower case, the longest run (≥ 2) of zero groups as `::`. */
export function formatIpv6(groups: readonly number[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Address family of a literal IP, or 0 for a host name. */
export function ipFamily(s: string): 0 | 4 | 6 {
  if (parseIpv4(s) !== null) return 4;
  if (parseIpv6(s) !== null) return 6;
  return 0;
}
