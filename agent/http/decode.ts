/**
 * Schema-driven decoding of JSON request bodies at the HTTP edge, shaped like Consul's agent:
 * object keys match case-insensitively and snake_case matches PascalCase (`tagged_addresses`
 * is `TaggedAddresses`), unknown keys are ignored, `null` reads as absent. The output uses the
 * canonical (PascalCase) names. A value of the wrong type is a {@link BadRequestError} whose
 * message names the field path: `Request decode failed: Service.Port: expected an integer, got "80"`.
 */
import { parseDuration, DurationError } from '../config/duration.js';
import { BadRequestError } from './errors.js';

export type Spec =
  | { kind: 'string' }
  | { kind: 'int' }
  | { kind: 'number' }
  | { kind: 'bool' }
  /** A Go duration string ("10s") or a number of nanoseconds; decoded to milliseconds. */
  | { kind: 'duration' }
  | { kind: 'any' }
  | { kind: 'object'; fields: Record<string, Spec>; aliases?: Record<string, string> }
  | { kind: 'array'; of: Spec }
  /** A map with user-chosen keys (kept as given). */
  | { kind: 'map'; of: Spec };

export const S = {
  string: { kind: 'string' } as Spec,
  int: { kind: 'int' } as Spec,
  number: { kind: 'number' } as Spec,
  bool: { kind: 'bool' } as Spec,
  duration: { kind: 'duration' } as Spec,
  any: { kind: 'any' } as Spec,
  object: (fields: Record<string, Spec>, aliases?: Record<string, string>): Spec => ({ kind: 'object', fields, aliases }),
  array: (of: Spec): Spec => ({ kind: 'array', of }),
  map: (of: Spec): Spec => ({ kind: 'map', of }),
};

/** Folds a key for matching: case-insensitive, `_` and `-` ignored. */
const fold = (k: string): string => k.toLowerCase().replace(/[_-]/g, '');

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return String(v);
}

function fail(path: string, expected: string, got: unknown): never {
  throw new BadRequestError(`Request decode failed: ${path || 'body'}: expected ${expected}, got ${describe(got)}`);
}

/** Decodes `value` against `spec`; `path` prefixes field names in error messages. */
export function decode(value: unknown, spec: Spec, path = ''): unknown {
  if (value === null || value === undefined) return undefined;
  switch (spec.kind) {
    case 'any':
      return value;
    case 'string':
      if (typeof value !== 'string') fail(path, 'a string', value);
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(path, 'an integer', value);
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'a number', value);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') fail(path, 'a boolean', value);
      return value;
    case 'duration':
      if (typeof value === 'number' && Number.isFinite(value)) return value / 1e6;
      if (typeof value !== 'string') fail(path, 'a duration such as "10s"', value);
      try {
        return parseDuration(value);
      } catch (e) {
        if (e instanceof DurationError) throw new BadRequestError(`Request decode failed: ${path}: ${e.message}`);
        throw e;
      }
    case 'array': {
      if (!Array.isArray(value)) fail(path, 'an array', value);
      return value.map((x, i) => {
        const d = decode(x, spec.of, `${path}[${i}]`);
        if (d === undefined) fail(`${path}[${i}]`, 'a value', x);
        return d;
      });
    }
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) fail(path, 'an object', value);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(value as Record<string, unknown>)) {
        const d = decode(x, spec.of, path ? `${path}.${k}` : k);
        if (d !== undefined) out[k] = d;
      }
      return out;
    }
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) fail(path, 'an object', value);
      const byFold = new Map<string, string>();
      for (const k of Object.keys(spec.fields)) byFold.set(fold(k), k);
      for (const [alias, k] of Object.entries(spec.aliases ?? {})) byFold.set(fold(alias), k);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(value as Record<string, unknown>)) {
        const canon = byFold.get(fold(k));
        if (canon === undefined) continue;
        const d = decode(x, spec.fields[canon]!, path ? `${path}.${canon}` : canon);
        if (d !== undefined && out[canon] === undefined) out[canon] = d;
      }
      return out;
    }
  }
}
