/**
 * DNS wire format for the server: a bounded, allocation-light query parser and a response
 * assembler that splices pre-encoded resource records (see {@link PreparedResponse}).
 *
 * Contracts:
 * - {@link parseQuery} never throws and reads only inside the given buffer; it allocates at
 *   most the query name (≤ 255 bytes) plus small objects, whatever the input.
 * - Records are encoded by `dns-packet`, which never compresses names, so an encoded record
 *   is position-independent: records can be reordered and dropped by copying byte ranges.
 */
import dnsPacket, { type Answer } from 'dns-packet';
import type { QType, Rcode, Resolution } from './resolver.js';

export const RCODE: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
/** Extended rcode BADVERS (16): upper 8 bits (1) go in the OPT record, lower 4 (0) in the header. */
export const BADVERS_EXT = 1;

const QTYPES: ReadonlyMap<number, QType> = new Map([
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [16, 'TXT'], [28, 'AAAA'], [33, 'SRV'], [255, 'ANY'],
]);

/** Resolver record type of a wire qtype (`OTHER` for types we hold no records of). */
export const qtypeName = (t: number): QType => QTYPES.get(t) ?? 'OTHER';

export const TYPE_OPT = 41;
export const TYPE_AXFR = 252;
export const TYPE_IXFR = 251;
export const CLASS_IN = 1;
export const CLASS_ANY = 255;

/** EDNS(0) information from a query's OPT record. */
export interface Edns {
  /** Requester's UDP payload size (values below 512 count as 512). */
  udpSize: number;
  version: number;
  /** DNSSEC OK bit, echoed back. */
  dnssecOk: boolean;
}

/** A well-formed standard query with exactly one question. */
export interface Query {
  id: number;
  /** Recursion desired, copied to the response. */
  rd: boolean;
  /** Checking disabled, copied to the response. */
  cd: boolean;
  /** Case-folded key of the question name (see {@link queryName} for its text). */
  nameKey: string;
  qtype: number;
  qclass: number;
  /** The question section as received (the response echoes it byte for byte, case included). */
  question: Buffer;
  edns: Edns | null;
}

export type ParseResult =
  | { kind: 'query'; query: Query }
  /** Reply with this error and no records (`question` echoed when it was readable). */
  | { kind: 'error'; id: number; rd: boolean; rcode: number; question: Buffer | null; edns: Edns | null }
  /** Not answerable (too short for a header, or a response): send nothing. */
  | { kind: 'drop'; reason: string };

/** Parses a query. Never throws. */
export function parseQuery(buf: Buffer): ParseResult {
  if (buf.length < 12) return { kind: 'drop', reason: 'short header' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) return { kind: 'drop', reason: 'response (QR=1)' };
  const rd = (flags & 0x0100) !== 0;
  const cd = (flags & 0x0010) !== 0;
  const err = (rcode: number, question: Buffer | null = null, edns: Edns | null = null): ParseResult =>
    ({ kind: 'error', id, rd, rcode, question, edns });
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0) return err(RCODE.NOTIMP);
  const qd = buf.readUInt16BE(4);
  if (qd !== 1) return err(RCODE.FORMERR);
  const name = readQueryName(buf, 12);
  if (name === null || name.end + 4 > buf.length) return err(RCODE.FORMERR);
  const qtype = buf.readUInt16BE(name.end);
  const qclass = buf.readUInt16BE(name.end + 2);
  const qEnd = name.end + 4;
  const question = buf.subarray(12, qEnd);
  // Answer and authority records are skipped; the additional section is searched for OPT.
  let off = qEnd;
  const others = buf.readUInt16BE(6) + buf.readUInt16BE(8);
  let edns: Edns | null = null;
  for (let i = 0; i < others + buf.readUInt16BE(10); i++) {
    const rr = skipRecord(buf, off);
    if (rr === null) return err(RCODE.FORMERR, question);
    if (i >= others && rr.type === TYPE_OPT) {
      if (edns !== null || rr.rootName !== true) return err(RCODE.FORMERR, question);
      edns = { udpSize: Math.max(512, rr.klass), version: (rr.ttl >>> 16) & 0xff, dnssecOk: (rr.ttl & 0x8000) !== 0 };
    }
    off = rr.end;
  }
  if (off !== buf.length) return err(RCODE.FORMERR, question, edns);
  if (edns !== null && edns.version !== 0) return { kind: 'error', id, rd, rcode: -1, question, edns };
  if (qclass !== CLASS_IN && qclass !== CLASS_ANY) return err(RCODE.NOTIMP, question, edns);
  if (qtype === TYPE_AXFR || qtype === TYPE_IXFR) return err(RCODE.REFUSED, question, edns);
  if (qtype === TYPE_OPT) return err(RCODE.FORMERR, question, edns);
  return { kind: 'query', query: { id, rd, cd, nameKey: name.key, qtype, qclass, question, edns } };
}

/**
 * A query of the common shape, as {@link parseFast} leaves it in a caller-owned object that is
 * reused for every packet (the hot path allocates nothing to parse).
 */
export interface FastQuery {
  id: number;
  /** The header's flags word as received (RD 0x0100, CD 0x0010 are echoed). */
  flags: number;
  /** Offset just past the question name (where QTYPE starts); the question ends 4 bytes later. */
  nameEnd: number;
  qtype: number;
  /** {@link questionHash} of the case-folded name and the qtype. */
  hash: number;
  /** The client's EDNS UDP size (at least 512), or 0 when the query has no OPT record. */
  ednsSize: number;
  dnssecOk: boolean;
}

export const newFastQuery = (): FastQuery => ({ id: 0, flags: 0, nameEnd: 0, qtype: 0, hash: 0, ednsSize: 0, dnssecOk: false });

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Parses only the common query shape, in one pass over the bytes and without allocating:
 * QR=0, opcode QUERY, one question, no answer or authority records, and either nothing after
 * the question or exactly one OPT record (root name, EDNS version 0) that ends the packet; the
 * name ASCII, uncompressed, labels ≤ 63 bytes, ≤ 255 bytes in all; class IN or ANY. Fills `out`
 * and returns true; returns false for anything else (the caller then uses {@link parseQuery},
 * which answers every case, errors included). For a packet it accepts, parseQuery returns a
 * query with the same ID, flags, question, qtype and EDNS size/DO bit.
 */
export function parseFast(buf: Buffer, out: FastQuery): boolean {
  const len = buf.length;
  if (len < 17) return false;
  const flags = (buf[2]! << 8) | buf[3]!;
  if ((flags & 0xf800) !== 0) return false;
  if (buf[4] !== 0 || buf[5] !== 1 || buf[6] !== 0 || buf[7] !== 0 || buf[8] !== 0 || buf[9] !== 0 || buf[10] !== 0) return false;
  const ar = buf[11]!;
  if (ar > 1) return false;
  let h = FNV_OFFSET;
  let off = 12;
  for (;;) {
    if (off >= len) return false;
    const l = buf[off]!;
    h = Math.imul(h ^ l, FNV_PRIME);
    if (l === 0) {
      off++;
      break;
    }
    if (l > 63 || off + 1 + l > len || off + 1 + l - 12 > 254) return false;
    const end = off + l;
    for (let i = off + 1; i <= end; i++) {
      let c = buf[i]!;
      if (c >= 0x80) return false;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    off = end + 1;
  }
  if (off + 4 > len) return false;
  const qtype = (buf[off]! << 8) | buf[off + 1]!;
  const qclass = (buf[off + 2]! << 8) | buf[off + 3]!;
  if (qclass !== CLASS_IN && qclass !== CLASS_ANY) return false;
  const qEnd = off + 4;
  let ednsSize = 0;
  let dnssecOk = false;
  if (ar === 1) {
    // OPT: root name (0), type 41, class = UDP size, TTL = ext-rcode, version, DO|Z, rdlen.
    if (qEnd + 11 > len || buf[qEnd] !== 0 || buf[qEnd + 1] !== 0 || buf[qEnd + 2] !== TYPE_OPT) return false;
    if (buf[qEnd + 6] !== 0) return false;
    if (qEnd + 11 + ((buf[qEnd + 9]! << 8) | buf[qEnd + 10]!) !== len) return false;
    const size = (buf[qEnd + 3]! << 8) | buf[qEnd + 4]!;
    ednsSize = size < 512 ? 512 : size;
    dnssecOk = (buf[qEnd + 7]! & 0x80) !== 0;
  } else if (qEnd !== len) return false;
  out.id = (buf[0]! << 8) | buf[1]!;
  out.flags = flags;
  out.nameEnd = off;
  out.qtype = qtype;
  out.hash = mixQtype(h, qtype);
  out.ednsSize = ednsSize;
  out.dnssecOk = dnssecOk;
  return true;
}

const mixQtype = (h: number, qtype: number): number => Math.imul(Math.imul(h ^ (qtype >> 8), FNV_PRIME) ^ (qtype & 0xff), FNV_PRIME) & 0x3fffffff;

/**
 * The hash {@link parseFast} computes for a question: FNV-1a over the name's wire bytes with
 * ASCII letters folded to lower case, then the qtype, kept to 30 bits (a small integer).
 */
export function questionHash(nameWire: Uint8Array, qtype: number): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < nameWire.length; i++) {
    let c = nameWire[i]!;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return mixQtype(h, qtype);
}

/**
 * Checks an uncompressed name (queries carry no pointers in their question; ≤ 255 bytes)
 * and returns its end and a case-folded key: the wire form with ASCII letters lower-cased
 * (unambiguous, since length bytes are below 0x40), or, for names with bytes outside ASCII,
 * U+0100 followed by the escaped text (U+0100 never occurs in a latin1-decoded wire form, so
 * the two kinds of key cannot collide).
 */
function readQueryName(buf: Buffer, start: number): { key: string; end: number } | null {
  let off = start;
  let ascii = true;
  let upper = false;
  for (;;) {
    if (off >= buf.length) return null;
    const len = buf[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63) return null;
    if (off + 1 + len > buf.length || off + 1 + len - start > 254) return null;
    for (let i = off + 1; i <= off + len; i++) {
      const c = buf[i]!;
      if (c >= 0x80) ascii = false;
      else if (c >= 0x41 && c <= 0x5a) upper = true;
    }
    off += 1 + len;
  }
  let key: string;
  if (!ascii) key = `\u0100${decodeName(buf, start)}`;
  else if (upper) key = buf.toString('latin1', start, off).toLowerCase();
  else key = buf.toString('latin1', start, off);
  return { key, end: off };
}

/**
 * Text of the (already checked) query name: lower-cased, no trailing dot, labels joined by
 * dots; dots, backslashes, spaces, control and non-ASCII bytes inside a label as `\DDD`.
 */
export function queryName(q: Pick<Query, 'question'>): string {
  return decodeName(q.question, 0);
}

function decodeName(buf: Buffer, start: number): string {
  let off = start;
  let text = '';
  for (let len = buf[off]!; len !== 0; len = buf[off]!) {
    if (text !== '') text += '.';
    for (let i = off + 1; i <= off + len; i++) {
      let c = buf[i]!;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      text += c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
    }
    off += 1 + len;
  }
  return text;
}

/** Skips one resource record (names may be compressed); null when it runs past the buffer. */
function skipRecord(buf: Buffer, start: number): { type: number; klass: number; ttl: number; end: number; rootName: boolean } | null {
  let off = start;
  for (let hops = 0; ; hops++) {
    if (off >= buf.length || hops > 128) return null;
    const len = buf[off]!;
    if (len === 0) { off++; break; }
    if ((len & 0xc0) === 0xc0) { off += 2; break; }
    if (len > 63) return null;
    off += 1 + len;
  }
  if (off + 10 > buf.length) return null;
  const type = buf.readUInt16BE(off);
  const klass = buf.readUInt16BE(off + 2);
  const ttl = buf.readUInt32BE(off + 4);
  const rdlen = buf.readUInt16BE(off + 8);
  const end = off + 10 + rdlen;
  if (end > buf.length) return null;
  return { type, klass, ttl, end, rootName: off === start + 1 };
}

/** Pre-encoded records of one answer group. */
export interface EncodedGroup {
  answers: Buffer;
  answerCount: number;
  additional: Buffer;
  additionalCount: number;
}

/** A resolution with every record encoded once; assembled per query by {@link assemble}. */
export interface PreparedResponse {
  rcode: number;
  aa: boolean;
  shuffle: boolean;
  forward: boolean;
  groups: EncodedGroup[];
  authority: Buffer;
  authorityCount: number;
  additional: Buffer;
  additionalCount: number;
}

/**
 * Encodes a resolution's records. A group holding a record that cannot be encoded validly
 * (a label over 63 bytes, a name over 255, a TXT string over 255) is left out, as is such a
 * record outside groups.
 */
export function prepare(res: Resolution): PreparedResponse {
  const groups: EncodedGroup[] = [];
  for (const g of res.groups) {
    const a = encodeRecords(g.answers);
    const d = encodeRecords(g.additional);
    if (a === null || d === null) continue;
    groups.push({ answers: a, answerCount: g.answers.length, additional: d, additionalCount: g.additional.length });
  }
  const auth = encodeEach(res.authority);
  const add = encodeEach(res.additional);
  return {
    rcode: RCODE[res.rcode], aa: res.aa, shuffle: res.shuffle, forward: res.forward, groups,
    authority: auth.bytes, authorityCount: auth.count, additional: add.bytes, additionalCount: add.count,
  };
}

function encodeRecords(rrs: Answer[]): Buffer | null {
  const parts: Buffer[] = [];
  for (const rr of rrs) {
    const b = encodeRecord(rr);
    if (b === null) return null;
    parts.push(b);
  }
  return Buffer.concat(parts);
}

function encodeEach(rrs: Answer[]): { bytes: Buffer; count: number } {
  const parts: Buffer[] = [];
  for (const rr of rrs) {
    const b = encodeRecord(rr);
    if (b !== null) parts.push(b);
  }
  return { bytes: Buffer.concat(parts), count: parts.length };
}

/** One record's wire bytes, or null when it would not be valid DNS. */
export function encodeRecord(rr: Answer): Buffer | null {
  if (!validName(rr.name)) return null;
  const d = (rr as { data?: unknown }).data;
  switch (rr.type) {
    case 'CNAME': case 'NS': case 'PTR':
      if (typeof d !== 'string' || !validName(d)) return null;
      break;
    case 'SRV':
      if (!validName((d as { target: string }).target)) return null;
      break;
    case 'SOA':
      if (!validName((d as { mname: string }).mname) || !validName((d as { rname: string }).rname)) return null;
      break;
    case 'TXT':
      for (const s of Array.isArray(d) ? d : [d]) if (Buffer.byteLength(s as string) > 255) return null;
      break;
    default:
  }
  try {
    return dnsPacket.encode({ type: 'response', id: 0, flags: 0, answers: [rr] }).subarray(12);
  } catch {
    return null;
  }
}

/** A name dns-packet encodes correctly: ASCII, labels 1..63 bytes, ≤ 253 characters. */
export function validName(name: string): boolean {
  if (name.length > 253) return false;
  if (name === '' || name === '.') return true;
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  for (const l of n.split('.')) {
    if (l.length === 0 || l.length > 63) return false;
  }
  // eslint-disable-next-line no-control-regex
  return /^[\x21-\x7e]*$/.test(n);
}

export interface AssembleOptions {
  /** Largest response in bytes: 512 plain UDP, the EDNS size, 65535 over TCP. */
  maxSize: number;
  /** At most this many answer groups, silently (a_record_limit); 0 = no limit. */
  recordLimit: number;
  /** At most this many answer groups, with TC set when more exist and `truncateOnLimit` (udp_answer_limit); 0 = none. */
  udpLimit: number;
  truncateOnLimit: boolean;
  /** Recursion available (recursors configured). */
  ra: boolean;
  /** Uniform in [0, 1); orders the groups of a shuffled response. */
  rng: () => number;
}

/**
 * Builds the response to `q` from prepared records: shuffles the groups (a partial
 * Fisher–Yates over indexes; the records are copied, never re-encoded), takes as many as the
 * limits and `maxSize` allow, and sets TC when groups were left out for size (or for the UDP
 * answer limit with `truncateOnLimit`). Cost per query: one buffer of the response size.
 */
export function assemble(q: Query, p: PreparedResponse, o: AssembleOptions): Buffer {
  const edns = q.edns === null ? -1 : q.edns.dnssecOk ? 1 : 0;
  return build(q.id, q.rd, q.cd, q.question, 0, q.question.length, edns, p, o);
}

/**
 * {@link assemble} for a query parsed by {@link parseFast}: the question is copied straight from
 * the received bytes `buf`. The same response, byte for byte.
 */
export function assembleFast(buf: Buffer, f: FastQuery, p: PreparedResponse, o: AssembleOptions): Buffer {
  const edns = f.ednsSize === 0 ? -1 : f.dnssecOk ? 1 : 0;
  return build(f.id, (f.flags & 0x0100) !== 0, (f.flags & 0x0010) !== 0, buf, 12, f.nameEnd + 4, edns, p, o);
}

/**
 * The response for a question held in `qbuf[qStart, qEnd)`; `edns` -1 without an OPT record,
 * else the DO bit to echo (0/1).
 */
function build(id: number, rd: boolean, cd: boolean, qbuf: Buffer, qStart: number, qEnd: number, edns: number, p: PreparedResponse, o: AssembleOptions): Buffer {
  const n = p.groups.length;
  let want = n;
  if (o.recordLimit > 0 && want > o.recordLimit) want = o.recordLimit;
  let tc = false;
  if (o.udpLimit > 0 && want > o.udpLimit) {
    want = o.udpLimit;
    if (o.truncateOnLimit) tc = true;
  }
  if (order.length < n) order = new Int32Array(Math.max(n, order.length * 2));
  for (let i = 0; i < n; i++) order[i] = i;
  if (p.shuffle) {
    for (let i = 0; i < want && i < n - 1; i++) {
      const j = i + Math.floor(o.rng() * (n - i));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
  }
  const optLen = edns < 0 ? 0 : 11;
  let size = 12 + (qEnd - qStart) + optLen;
  let authority = p.authority;
  let authorityCount = p.authorityCount;
  let additional = p.additional;
  let additionalCount = p.additionalCount;
  if (size + authority.length + additional.length > o.maxSize) {
    additional = EMPTY;
    additionalCount = 0;
    if (size + authority.length > o.maxSize) {
      authority = EMPTY;
      authorityCount = 0;
      tc = true;
    }
  }
  size += authority.length + additional.length;
  let taken = 0;
  let anCount = 0;
  let arCount = additionalCount;
  for (; taken < want; taken++) {
    const g = p.groups[order[taken]!]!;
    const add = g.answers.length + g.additional.length;
    if (size + add > o.maxSize) {
      tc = true;
      break;
    }
    size += add;
    anCount += g.answerCount;
    arCount += g.additionalCount;
  }
  if (optLen > 0) arCount++;
  const out = Buffer.allocUnsafe(size);
  let flags = 0x8000 | (p.rcode & 0xf);
  if (p.aa) flags |= 0x0400;
  if (tc) flags |= 0x0200;
  if (rd) flags |= 0x0100;
  if (o.ra) flags |= 0x0080;
  if (cd) flags |= 0x0010;
  out[0] = id >> 8; out[1] = id & 0xff;
  out[2] = flags >> 8; out[3] = flags & 0xff;
  out[4] = 0; out[5] = 1;
  out[6] = anCount >> 8; out[7] = anCount & 0xff;
  out[8] = authorityCount >> 8; out[9] = authorityCount & 0xff;
  out[10] = arCount >> 8; out[11] = arCount & 0xff;
  let off = 12 + qbuf.copy(out, 12, qStart, qEnd);
  for (let i = 0; i < taken; i++) off += p.groups[order[i]!]!.answers.copy(out, off);
  if (authority.length > 0) off += authority.copy(out, off);
  for (let i = 0; i < taken; i++) {
    const a = p.groups[order[i]!]!.additional;
    if (a.length > 0) off += a.copy(out, off);
  }
  if (additional.length > 0) off += additional.copy(out, off);
  if (edns >= 0) writeOpt(out, off, 0, edns === 1);
  return out;
}

/** Scratch for group order in {@link assemble} (synchronous, so one suffices). */
let order = new Int32Array(64);

const EMPTY = Buffer.alloc(0);

/** Our advertised EDNS UDP payload size. */
export const OUR_UDP_SIZE = 4096;

function writeHeader(out: Buffer, id: number, rcode: number, f: { aa: boolean; tc: boolean; rd: boolean; ra: boolean; cd: boolean }, qd: number, an: number, ns: number, ar: number): void {
  out.writeUInt16BE(id, 0);
  let flags = 0x8000 | (rcode & 0xf);
  if (f.aa) flags |= 0x0400;
  if (f.tc) flags |= 0x0200;
  if (f.rd) flags |= 0x0100;
  if (f.ra) flags |= 0x0080;
  if (f.cd) flags |= 0x0010;
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(qd, 4);
  out.writeUInt16BE(an, 6);
  out.writeUInt16BE(ns, 8);
  out.writeUInt16BE(ar, 10);
}

/** An 11-byte OPT record: root name, our UDP size, extended rcode, version 0, DO echoed. */
function writeOpt(out: Buffer, off: number, extRcode: number, dnssecOk: boolean): void {
  out[off] = 0;
  out.writeUInt16BE(TYPE_OPT, off + 1);
  out.writeUInt16BE(OUR_UDP_SIZE, off + 3);
  out.writeUInt32BE(((extRcode & 0xff) << 24) | (dnssecOk ? 0x8000 : 0), off + 5);
  out.writeUInt16BE(0, off + 9);
}

/**
 * An error response: header (ID, RD, CD echoed), the question when readable, an OPT record
 * when the query had one. `rcode` -1 means BADVERS.
 */
export function errorResponse(id: number, rd: boolean, rcode: number, question: Buffer | null, edns: Edns | null, ra: boolean): Buffer {
  const q = question ?? EMPTY;
  const optLen = edns === null ? 0 : 11;
  const out = Buffer.allocUnsafe(12 + q.length + optLen);
  writeHeader(out, id, rcode < 0 ? 0 : rcode, { aa: false, tc: false, rd, ra, cd: false }, question === null ? 0 : 1, 0, 0, optLen > 0 ? 1 : 0);
  q.copy(out, 12);
  if (edns !== null) writeOpt(out, 12 + q.length, rcode < 0 ? BADVERS_EXT : 0, edns.dnssecOk);
  return out;
}
