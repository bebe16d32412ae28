/**
 * `herald kv get|put|delete|export|import`: Consul's `consul kv` commands and output.
 *
 * Values: `put key value` takes the value literally, `@path` reads a file, `-` reads stdin,
 * `-base64` decodes the given value first. `get` prints the raw value (base64 with -base64),
 * `-recurse` prints `key:value` lines, `-keys` key names (separator "/" by default), and
 * `-detailed` Consul's field table.
 */
import { parseJsonExactFlags, stringifyJson } from '../runtime/json64.js';
import { canonicalFlags, parseFlags } from '../../catalog/state/flags.js';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { clientFor, columns } from './client.js';
import type { AgentClient } from './http-client.js';
import { CliError, println, type CliIO } from './io.js';

interface Entry {
  Key: string;
  Flags: number;
  Value: string | null;
  LockIndex: number;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const kvPath = (key: string): string => `/v1/kv/${key.split('/').map(encodeURIComponent).join('/')}`;

async function readStdin(io: CliIO): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of (io.stdin ?? process.stdin) as AsyncIterable<Buffer | string>) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Resolves a value argument: literal, `@file`, or `-` for stdin; `-base64` decodes it. */
async function valueArg(arg: string | undefined, base64: boolean, io: CliIO): Promise<Buffer> {
  let v: Buffer;
  if (arg === undefined) v = Buffer.alloc(0);
  else if (arg === '-') v = await readStdin(io);
  else if (arg.startsWith('@')) {
    try {
      v = readFileSync(arg.slice(1));
    } catch (e) {
      throw new CliError(`Failed to read file: ${(e as Error).message}`);
    }
  } else v = Buffer.from(arg);
  return base64 ? Buffer.from(v.toString('utf8').trim(), 'base64') : v;
}

const decodeValue = (e: Entry): Buffer => (e.Value === null ? Buffer.alloc(0) : Buffer.from(e.Value, 'base64'));

function valueText(e: Entry, base64: boolean): string {
  return base64 ? (e.Value ?? '') : decodeValue(e).toString('utf8');
}

function detailed(e: Entry, base64: boolean): string {
  return columns([
    ['CreateIndex', String(e.CreateIndex)],
    ['Flags', String(e.Flags)],
    ['Key', e.Key],
    ['LockIndex', String(e.LockIndex)],
    ['ModifyIndex', String(e.ModifyIndex)],
    ['Session', e.Session ?? '-'],
    ['Value', valueText(e, base64)],
  ]);
}

async function getJson<T>(c: AgentClient, path: string): Promise<T | null> {
  const r = await c.request('GET', path);
  if (r.status === 404) return null;
  if (r.status < 200 || r.status > 299) throw new CliError(`Error querying Herald agent: Unexpected response code: ${r.status} (${r.text.trim()})`);
  return parseJsonExactFlags(r.text) as T;
}

async function putBool(c: AgentClient, method: string, path: string, body?: Buffer): Promise<boolean> {
  const r = await c.request(method, path, body);
  if (r.status < 200 || r.status > 299) throw new CliError(`Unexpected response code: ${r.status} (${r.text.trim()})`);
  return r.text.trim() === 'true';
}

export function registerKvCommands(program: Command, io: CliIO): void {
  const kv = program.command('kv').description('Interact with the key-value store');

  kv.command('get')
    .description('Retrieve or list data from the KV store')
    .argument('[key]', 'key or prefix', '')
    .option('--recurse', 'every key under the prefix, as key:value lines')
    .option('--keys', 'list key names under the prefix')
    .option('--separator <sep>', 'with -keys: roll up keys at this separator ("" for none)', '/')
    .option('--detailed', 'print every field of the entry')
    .option('--base64', 'print values base64-encoded')
    .option('--stale', 'read from any server')
    .action(async (key: string, o: { recurse?: boolean; keys?: boolean; separator: string; detailed?: boolean; base64?: boolean; stale?: boolean }, cmd: Command) => {
      const c = clientFor(cmd, io);
      const stale = o.stale ? '&stale' : '';
      if (o.keys) {
        const keys = (await getJson<string[]>(c, `${kvPath(key)}?keys&separator=${encodeURIComponent(o.separator)}${stale}`)) ?? [];
        for (const k of keys) println(io.stdout, k);
        return;
      }
      if (o.recurse) {
        const entries = (await getJson<Entry[]>(c, `${kvPath(key)}?recurse${stale}`)) ?? [];
        entries.forEach((e, i) => {
          if (o.detailed) {
            println(io.stdout, detailed(e, !!o.base64));
            if (i < entries.length - 1) println(io.stdout);
          } else println(io.stdout, `${e.Key}:${valueText(e, !!o.base64)}`);
        });
        return;
      }
      if (key === '') throw new CliError('Error! Missing KEY argument');
      const entries = await getJson<Entry[]>(c, `${kvPath(key)}${o.stale ? '?stale' : ''}`);
      if (entries === null || entries.length === 0) throw new CliError(`Error! No key exists at: ${key}`);
      const e = entries[0]!;
      if (o.detailed) println(io.stdout, detailed(e, !!o.base64));
      else if (o.base64) println(io.stdout, e.Value ?? '');
      else {
        io.stdout.write(decodeValue(e));
        io.stdout.write('\n');
      }
    });

  kv.command('put')
    .description('Set or update data in the KV store')
    .argument('<key>', 'key')
    .argument('[value]', 'value, @file, or - for stdin')
    .option('--cas', 'check-and-set: write only if the key still has -modify-index')
    .option('--modify-index <n>', 'with -cas: the expected ModifyIndex (0: only if absent)', '0')
    .option('--flags <n>', 'unsigned integer flags stored with the value', '0')
    .option('--base64', 'the value is base64-encoded')
    .option('--acquire', 'acquire the lock with -session')
    .option('--release', 'release the lock held by -session')
    .option('--session <id>', 'session for -acquire/-release')
    .action(async (key: string, value: string | undefined, o: { cas?: boolean; modifyIndex: string; flags: string; base64?: boolean; acquire?: boolean; release?: boolean; session?: string }, cmd: Command) => {
      if (parseFlags(o.flags) === undefined) throw new CliError(`Error! Invalid -flags: "${o.flags}" (an unsigned 64-bit integer)`);
      if (!/^\d+$/.test(o.modifyIndex)) throw new CliError(`Error! Invalid -modify-index: "${o.modifyIndex}"`);
      if ((o.acquire || o.release) && !o.session) throw new CliError('Error! Missing -session (required with -acquire and -release)');
      const body = await valueArg(value, !!o.base64, io);
      const c = clientFor(cmd, io);
      const q = new URLSearchParams();
      if (o.flags !== '0') q.set('flags', o.flags);
      if (o.cas) q.set('cas', o.modifyIndex);
      if (o.acquire) q.set('acquire', o.session!);
      if (o.release) q.set('release', o.session!);
      const qs = q.toString();
      const ok = await putBool(c, 'PUT', `${kvPath(key)}${qs ? `?${qs}` : ''}`, body);
      if (!ok) {
        if (o.cas) throw new CliError(`Error! Did not write to ${key}: CAS failed`);
        if (o.acquire) throw new CliError(`Error! Did not write to ${key}: lock acquisition failed`);
        if (o.release) throw new CliError(`Error! Did not write to ${key}: lock release failed`);
        throw new CliError(`Error! Failed writing data to ${key}`);
      }
      if (o.acquire) println(io.stdout, `Success! Lock acquired on: ${key}`);
      else if (o.release) println(io.stdout, `Success! Lock released on: ${key}`);
      else println(io.stdout, `Success! Data written to: ${key}`);
    });

  kv.command('delete')
    .description('Remove data from the KV store')
    .argument('[key]', 'key or prefix', '')
    .option('--recurse', 'delete every key under the prefix')
    .option('--cas', 'delete only if the key still has -modify-index')
    .option('--modify-index <n>', 'with -cas: the expected ModifyIndex', '0')
    .action(async (key: string, o: { recurse?: boolean; cas?: boolean; modifyIndex: string }, cmd: Command) => {
      if (o.recurse && o.cas) throw new CliError('Error! Cannot specify both -cas and -recurse!');
      if (!o.recurse && key === '') throw new CliError('Error! Missing KEY argument');
      if (!/^\d+$/.test(o.modifyIndex)) throw new CliError(`Error! Invalid -modify-index: "${o.modifyIndex}"`);
      const c = clientFor(cmd, io);
      const q = o.recurse ? '?recurse' : o.cas ? `?cas=${o.modifyIndex}` : '';
      const ok = await putBool(c, 'DELETE', `${kvPath(key)}${q}`);
      if (!ok) throw new CliError(`Error! Did not delete key ${key}: CAS failed`);
      println(io.stdout, o.recurse ? `Success! Deleted keys with prefix: ${key}` : `Success! Deleted key: ${key}`);
    });

  kv.command('export')
    .description('Export a tree of the KV store as JSON')
    .argument('[prefix]', 'prefix', '')
    .action(async (prefix: string, _o: unknown, cmd: Command) => {
      const entries = (await getJson<Entry[]>(clientFor(cmd, io), `${kvPath(prefix)}?recurse`)) ?? [];
      const out = entries.map((e) => ({ key: e.Key, flags: e.Flags, value: e.Value ?? '' }));
      println(io.stdout, stringifyJson(out, '\t'));
    });

  kv.command('import')
    .description('Import a tree of the KV store from JSON (as written by export)')
    .argument('[data]', 'JSON, @file, or - for stdin', '-')
    .option('--prefix <p>', 'prefix added to every imported key', '')
    .action(async (data: string, o: { prefix: string }, cmd: Command) => {
      const text = (await valueArg(data, false, io)).toString('utf8');
      let entries: Array<{ key: string; flags?: unknown; value?: string }>;
      try {
        entries = parseJsonExactFlags(text) as typeof entries;
        if (!Array.isArray(entries)) throw new Error('expected a JSON array');
      } catch (e) {
        throw new CliError(`Error! Cannot unmarshal data: ${(e as Error).message}`);
      }
      // Every entry is checked before the first write, so bad input imports nothing.
      entries.forEach((e, i) => {
        const bad = (what: string): CliError => new CliError(`Error! Cannot unmarshal data: entry ${i}: ${what}`);
        if (e === null || typeof e !== 'object' || typeof e.key !== 'string') throw bad('needs a "key" string');
        if (e.flags !== undefined && e.flags !== null && canonicalFlags(e.flags) === undefined) throw bad('"flags" must be an unsigned 64-bit integer');
        if (e.value !== undefined && e.value !== null && typeof e.value !== 'string') throw bad('"value" must be base64 text');
      });
      const c = clientFor(cmd, io);
      for (const e of entries) {
        const key = `${o.prefix}${e.key}`;
        const f = e.flags === undefined || e.flags === null ? 0 : canonicalFlags(e.flags)!;
        const flags = f !== 0 ? `?flags=${f.toString()}` : '';
        const ok = await putBool(c, 'PUT', `${kvPath(key)}${flags}`, Buffer.from(e.value ?? '', 'base64'));
        if (!ok) throw new CliError(`Error! Failed writing data for key ${key}`);
        println(io.stdout, `Imported: ${key}`);
      }
    });
}
