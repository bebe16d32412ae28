/**
 * Watch handlers: what runs when a watched value changes.
 *
 * - {@link scriptHandler}: runs a program (argv, or `sh -c <command>`) with the JSON value on
 *   stdin and CONSUL_INDEX in its environment; a run that outlasts `timeoutMs` is killed with
 *   its whole process group. A non-zero exit or a kill rejects (the watcher logs it).
 * - {@link httpHandler}: sends the JSON value (default POST) with `X-Consul-Index`; a
 *   non-2xx answer, a network error or no answer within `timeoutMs` is retried up to
 *   `attempts` times in all, waiting `retryMs`, then twice that, ... on the injected clock;
 *   each failure is logged, and the last one rejects.
 */
import { spawn } from 'node:child_process';
import { stringifyJson } from '../runtime/json64.js';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { WatchHandler } from './watcher.js';

/** Output kept from a handler script, for the log. */
const MAX_OUTPUT = 4096;

export interface ScriptHandlerOptions {
  /** argv run directly; or `shell`, run as `sh -c <shell>`. Exactly one. */
  args?: string[];
  shell?: string;
  /** Default 30 s. */
  timeoutMs?: number;
  clock: Clock;
  logger: Logger;
  /** Where the script's stdout goes (the CLI passes its own stdout); default: logged. */
  stdout?: NodeJS.WritableStream;
}

export function scriptHandler(o: ScriptHandlerOptions): WatchHandler {
  const argv = o.shell !== undefined ? ['sh', '-c', o.shell] : o.args;
  if (!argv || argv.length === 0 || !argv[0]) throw new Error('watch: a script handler needs args or a command');
  const timeoutMs = o.timeoutMs ?? 30_000;
  const log = o.logger.child({ component: 'watch' });
  return (value, index) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), {
        env: { ...process.env, CONSUL_INDEX: String(index) },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
      let out = '';
      const keep = (b: Buffer): void => {
        if (out.length < MAX_OUTPUT) out += b.toString('utf8').slice(0, MAX_OUTPUT - out.length);
      };
      if (o.stdout) child.stdout.pipe(o.stdout, { end: false });
      else child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      let killed = false;
      const timer = o.clock.setTimeout(() => {
        killed = true;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, timeoutMs);
      child.stdin.on('error', () => {});
      child.stdin.end(`${stringifyJson(value)}\n`);
      child.on('error', (e) => {
        o.clock.clearTimeout(timer);
        reject(new Error(`watch: handler ${argv[0]} could not start: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        o.clock.clearTimeout(timer);
        if (out) log.info({ output: out }, 'watch handler output');
        if (killed) reject(new Error(`watch: handler killed after ${timeoutMs} ms timeout`));
        else if (code !== 0) reject(new Error(`watch: handler exited with ${code ?? signal}`));
        else resolve();
      });
    });
}

export interface HttpHandlerOptions {
  url: string;
  /** Default POST. */
  method?: string;
  header?: Record<string, string[]>;
  /** Per attempt; default 10 s. */
  timeoutMs?: number;
  tlsSkipVerify?: boolean;
  /** Attempts in all; default 3. */
  attempts?: number;
  /** First wait between attempts; default 1 s. */
  retryMs?: number;
  clock: Clock;
  logger: Logger;
}

export function httpHandler(o: HttpHandlerOptions): WatchHandler {
  const url = new URL(o.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`watch: http handler path must be an http(s) URL, got "${o.url}"`);
  const attempts = Math.max(1, o.attempts ?? 3);
  const retryMs = o.retryMs ?? 1000;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const log = o.logger.child({ component: 'watch' });
  const once = (body: string, index: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | string[]> = { ...(o.header ?? {}) };
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
      headers['X-Consul-Index'] = String(index);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method: o.method ?? 'POST', headers, ...(url.protocol === 'https:' ? { rejectUnauthorized: !o.tlsSkipVerify } : {}) }, (res) => {
        res.resume();
        res.on('end', () => {
          o.clock.clearTimeout(timer);
          resolve(res.statusCode ?? 0);
        });
        res.on('error', (e) => {
          o.clock.clearTimeout(timer);
          reject(e);
        });
      });
      const timer = o.clock.setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (e) => {
        o.clock.clearTimeout(timer);
        reject(e);
      });
      req.end(body);
    });
  return async (value, index) => {
    const body = stringifyJson(value);
    for (let attempt = 1; ; attempt++) {
      let problem: string;
      try {
        const status = await once(body, index);
        if (status >= 200 && status <= 299) return;
        problem = `status ${status}`;
      } catch (e) {
        problem = (e as Error).message;
      }
      if (attempt >= attempts) throw new Error(`watch: http handler ${o.url} failed after ${attempt} attempts: ${problem}`);
      const wait = retryMs * 2 ** (attempt - 1);
      log.warn({ url: o.url, attempt }, `watch http handler failed (${problem}); retrying in ${wait} ms`);
      await new Promise<void>((r) => o.clock.setTimeout(r, wait));
    }
  };
}
