/**
 * JSON with exact 64-bit KV flags. Consul's KV `Flags` is a uint64 and its lock helpers use
 * values above 2^53 − 1, which `JSON.parse` rounds and `JSON.stringify` refuses (as bigint).
 * These two functions carry such values exactly: flags are `number | bigint` in canonical
 * form (see catalog/state/flags.ts), everything else is plain JSON.
 */
import { canonicalFlags } from '../../catalog/state/flags.js';

/** Marks a big integer literal that {@link parseJsonExactFlags} rewrote into a string. */
const MARK = '\u0000';
const FLAGS_KEY = /^flags$/i;

/**
 * `JSON.parse`, except that an integer literal of 16 or more digits that is the value of a
 * member named `Flags` (any case) comes back as exact canonical flags: a bigint above 2^53 − 1.
 * A literal above 2^64 − 1 comes back as a string, so the caller's type check refuses it.
 * Throws SyntaxError like `JSON.parse`.
 */
export function parseJsonExactFlags(text: string): unknown {
  let rewritten: string | undefined;
  let copied = 0;
  let lastString = '';
  let key: string | undefined;
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      lastString = text.slice(i + 1, j);
      i = j + 1;
    } else if (c === 0x3a) {
      key = lastString;
      i++;
    } else if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
      let j = i;
      while (j < n && /[0-9.eE+-]/.test(text[j]!)) j++;
      const token = text.slice(i, j);
      if (key !== undefined && FLAGS_KEY.test(key) && /^\d{16,}$/.test(token)) {
        rewritten = (rewritten ?? '') + text.slice(copied, i) + `"\\u0000${token}"`;
        copied = j;
      }
      i = j;
    } else {
      if (c === 0x2c || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d) key = undefined;
      i++;
    }
  }
  if (rewritten === undefined) return JSON.parse(text);
  return JSON.parse(rewritten + text.slice(copied), (k, v: unknown) => {
    if (typeof v !== 'string' || !FLAGS_KEY.test(k) || !v.startsWith(MARK)) return v;
    const digits = v.slice(1);
    return canonicalFlags(BigInt(digits)) ?? digits;
  });
}

/**
 * `JSON.stringify(value, null, indent)`, except that bigints are written as exact integer
 * literals instead of throwing. Plain JSON values take the native path.
 */
export function stringifyJson(value: unknown, indent: number | string = 0): string {
  try {
    return JSON.stringify(value, null, indent);
  } catch (e) {
    if (!(e instanceof TypeError) || !/BigInt/i.test(e.message)) throw e;
  }
  const step = typeof indent === 'string' ? indent.slice(0, 10) : ' '.repeat(Math.min(10, Math.max(0, indent)));
  return write(value, step, '') ?? 'null';
}

function write(v: unknown, step: string, outer: string): string | undefined {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const withToJSON = v as { toJSON?: () => unknown };
  if (typeof withToJSON.toJSON === 'function') return write(withToJSON.toJSON(), step, outer);
  const inner = outer + step;
  const open = step === '' ? '' : `\n${inner}`;
  const sep = step === '' ? ',' : `,\n${inner}`;
  const close = step === '' ? '' : `\n${outer}`;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${open}${v.map((x) => write(x, step, inner) ?? 'null').join(sep)}${close}]`;
  }
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    const s = write(x, step, inner);
    if (s !== undefined) parts.push(`${JSON.stringify(k)}:${step === '' ? '' : ' '}${s}`);
  }
  return parts.length === 0 ? '{}' : `{${open}${parts.join(sep)}${close}}`;
}
