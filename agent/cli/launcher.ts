/**
 * The `herald` executable. The build bundles the CLI into one CommonJS file
 * (`dist/herald.cjs`) and this launcher into `dist/herald.mjs` (package.json `bin`). The
 * launcher compiles the bundle with V8's code cache (`dist/herald.cjs.cache`, written by the
 * build), so a start skips most of parsing and compiling two megabytes of JavaScript: about
 * 40 ms of CPU per process, which matters to every CLI call and to agents started together.
 *
 * Contract:
 * - The cache is used only when its header names the SHA-1 of the bundle's exact bytes (V8
 *   itself checks only the source length and its own version and flags) and the SHA-1 of
 *   the cached data that follows (V8 does not checksum it, and a damaged one crashes V8's
 *   deserializer). Any mismatch, a missing or unreadable cache, or V8 rejecting it means a
 *   normal compile: the cache can make a start faster, never different.
 * - With `HERALD_WRITE_CODE_CACHE=1` in the environment the launcher writes the cache when
 *   the process exits (after the command ran, so the functions it compiled are included),
 *   atomically (temporary file, then rename). The build does this with `herald version`.
 * - With `HERALD_CODE_CACHE_DEBUG=1` it prints one line to stderr saying whether the cache
 *   was used, missing, stale (another bundle's or another format), damaged (checksum) or
 *   rejected by V8.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { constants as vmConstants, Script } from 'node:vm';

/**
 * V8 flags set once the bundle has loaded: smaller inlining budgets for the optimizing
 * compiler (V8's defaults: 920 bytecodes per function in all, 460 per callee). A freshly
 * started server under load spends about a third less CPU compiling its hot paths (on the
 * 3-server KV benchmark, 1.3 s instead of 1.9 s across the servers in the first 2 s), which
 * on a small machine is CPU taken from serving; steady-state speed is within 1–2 %. See
 * docs/benchmarks.md.
 *
 * Not before: V8 accepts a code cache only under the flags it was made with, and that holds
 * for Node's own built-in modules too, so changing flags before the bundle's start-up
 * `require`s would make each of them compile from source (≈ 17 ms of CPU per `herald`
 * command). These flags only steer optimizing compiles, which come later, once code is hot.
 * The process that writes our code cache keeps V8's defaults, so the cache matches the
 * flags that every start reads it under.
 */
const V8_FLAGS = ['--max-inlined-bytecode-size-cumulative=300', '--max-inlined-bytecode-size=200'];

/**
 * Cache file layout: MAGIC, the bundle's SHA-1 (20 bytes), the SHA-1 of V8's cached data
 * (20 bytes), then V8's cached data.
 */
const MAGIC = Buffer.from('herald-code-cache-2\n');
const HASH_BYTES = 20;

const here = dirname(fileURLToPath(import.meta.url));
const bundleFile = join(here, 'herald.cjs');
const cacheFile = `${bundleFile}.cache`;

const bundle = readFileSync(bundleFile);
const digest = sha1(bundle);
const cache = readCache(cacheFile, digest);
const cachedData = typeof cache === 'string' ? undefined : cache;
// The module wrapper CommonJS uses, written out so the compiled function has its parameters;
// a leading `#!` line becomes a comment, as Node's own loader treats it (line numbers kept).
const text = bundle.toString('utf8');
const body = text.startsWith('#!') ? `//${text.slice(2)}` : text;
const source = `(function (exports, require, module, __filename, __dirname) { ${body}\n});`;
const script = new Script(source, {
  filename: bundleFile,
  importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  ...(cachedData ? { cachedData } : {}),
});
if (process.env['HERALD_CODE_CACHE_DEBUG'] === '1') {
  const state = typeof cache === 'string' ? cache : script.cachedDataRejected ? 'rejected' : 'used';
  process.stderr.write(`herald: code cache ${state} (${cacheFile})\n`);
}
if (process.env['HERALD_WRITE_CODE_CACHE'] === '1') process.once('exit', () => writeCache(cacheFile, digest, script));

const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
const mod = { exports: {}, filename: bundleFile, id: '.', loaded: false };
run.call(mod.exports, mod.exports, createRequire(bundleFile), mod, bundleFile, here);
if (process.env['HERALD_WRITE_CODE_CACHE'] !== '1') for (const flag of V8_FLAGS) setFlagsFromString(flag);

function sha1(data: Buffer): Buffer {
  return createHash('sha1').update(data).digest();
}

/** V8's cached data for the bundle whose SHA-1 is `hash`, or why there is none. */
function readCache(file: string, hash: Buffer): Buffer | 'missing' | 'stale' | 'damaged' {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return 'missing';
  }
  const head = MAGIC.length + 2 * HASH_BYTES;
  if (data.length <= head || !data.subarray(0, MAGIC.length).equals(MAGIC)) return 'stale';
  if (!data.subarray(MAGIC.length, MAGIC.length + HASH_BYTES).equals(hash)) return 'stale';
  const v8data = data.subarray(head);
  if (!sha1(v8data).equals(data.subarray(MAGIC.length + HASH_BYTES, head))) return 'damaged';
  return v8data;
}

function writeCache(file: string, hash: Buffer, compiled: Script): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const v8data = compiled.createCachedData();
    writeFileSync(tmp, Buffer.concat([MAGIC, hash, sha1(v8data), v8data]));
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    process.stderr.write(`herald: could not write the code cache ${file}: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
