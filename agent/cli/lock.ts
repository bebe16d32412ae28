/**
 * `herald lock [-n N] [-timeout d] [-child-exit-code] [-name s] prefix command...`: runs
 * `command` while holding a lock (or, with N > 1, one of N semaphore slots) under `prefix`,
 * like `consul lock`.
 *
 * - A session (TTL 15 s, renewed every 5 s, release behavior) is created on this agent's node;
 *   it is destroyed on the way out, which also releases anything still held.
 * - The child runs in its own process group with HERALD_LOCK_HELD=true and
 *   CONSUL_LOCK_HELD=true; one argument runs through `sh -c`, several are executed directly.
 * - If the lock is lost (session invalidated, key taken, or the agent did not answer
 *   -monitor-retry + 1 consecutive checks), the child's group gets SIGTERM and,
 *   after {@link KILL_GRACE_MS}, SIGKILL; the command then exits 1.
 * - SIGINT/SIGTERM to `herald lock` stop the child the same way and release the lock.
 * - Exit code: 0 when the child ran (its failure ignored) unless -child-exit-code, which
 *   exits 2 when the child failed; 1 when the lock could not be acquired (timeout) or was lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Command } from 'commander';
import { parseDuration } from '../config/duration.js';
import { clientFor } from './client.js';
import { AgentClient } from './http-client.js';
import { CliError, println, type CliIO } from './io.js';
import { Contender } from './lock-protocol.js';

export const SESSION_TTL = '15s';
export const RENEW_EVERY_MS = 5000;
export const KILL_GRACE_MS = 5000;

interface LockOpts {
  n: string;
  timeout: string;
  childExitCode?: boolean;
  name?: string;
  lockDelay: string;
  monitorRetry: string;
  verbose?: boolean;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        child.kill(sig);
      }
    };
    const t = setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    kill('SIGTERM');
  });
}

export function registerLockCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('lock')
    .description('Run a command while holding a lock (or a semaphore slot with -n > 1) in the KV store')
    .argument('<prefix>', 'KV prefix of the lock')
    .argument('<command...>', 'command to run (one argument runs through sh -c)')
    .option('-n <limit>', 'number of concurrent holders (semaphore when > 1)', '1')
    .option('--timeout <duration>', 'maximum time to wait for the lock (0: forever)', '0s')
    .option('--child-exit-code', 'exit 2 when the child fails')
    .option('--name <name>', 'session name', 'Herald lock')
    .option('--lock-delay <duration>', 'session lock-delay (Herald extension)', '15s')
    .option('--monitor-retry <n>', 'consecutive failed lock checks tolerated before the lock is presumed lost', '3')
    .option('--verbose', 'print progress to stderr')
    .action(async (prefix: string, command: string[], o: LockOpts, cmd: Command) => {
      const limit = Number(o.n);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError(`Error! Invalid -n: "${o.n}" (must be a positive integer)`);
      if (!/^\d+$/.test(o.monitorRetry)) throw new CliError(`Error! Invalid -monitor-retry: "${o.monitorRetry}"`);
      const timeoutMs = parseDuration(o.timeout);
      const base = clientFor(cmd, io);
      const c = new AgentClient(base.base, 60_000);
      const log = (m: string): void => {
        if (o.verbose) println(io.stderr, m);
      };
      const created = await c.json<{ ID: string }>('PUT', '/v1/session/create', { Name: o.name, TTL: SESSION_TTL, LockDelay: o.lockDelay, Behavior: 'release' });
      const session = created.ID;
      log(`Session ${session} created`);
      const contender = new Contender(c, prefix, limit, session);
      const stop = new AbortController();
      let lost = false;
      const onLost = (why: string): void => {
        if (lost || stop.signal.aborted) return;
        lost = true;
        println(io.stderr, `Lock lost (${why}), killing child`);
        stop.abort();
      };
      const renew = setInterval(() => {
        c.request('PUT', `/v1/session/renew/${session}`, '').then(
          (r) => {
            if (r.status === 404) onLost('session invalidated');
          },
          () => undefined,
        );
      }, RENEW_EVERY_MS);
      const interrupted = new AbortController();
      const onSignal = (): void => interrupted.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const cleanup = async (): Promise<void> => {
        clearInterval(renew);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await c.request('PUT', `/v1/session/destroy/${session}`, '').catch(() => undefined);
      };
      try {
        const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : 0;
        const held = await contender.acquire(deadline, interrupted.signal);
        if (!held) {
          await contender.release().catch(() => undefined);
          throw new CliError(interrupted.signal.aborted ? 'Lock acquisition interrupted' : 'Lock acquisition failed');
        }
        log(`Lock acquired on ${prefix}`);
        const env = { ...process.env, ...io.env, HERALD_LOCK_HELD: 'true', CONSUL_LOCK_HELD: 'true' };
        const child = command.length === 1 ? spawn('/bin/sh', ['-c', command[0]!], { env, stdio: 'inherit', detached: true }) : spawn(command[0]!, command.slice(1), { env, stdio: 'inherit', detached: true });
        const exited = new Promise<number>((resolve) => {
          child.once('error', (e) => {
            println(io.stderr, `Error! Cannot run child: ${e.message}`);
            resolve(127);
          });
          child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
        });
        interrupted.signal.addEventListener('abort', () => void stopChild(child));
        const monitoring = contender.monitor(stop.signal, Number(o.monitorRetry) + 1).then((r) => {
          if (r === 'lost') onLost('key taken');
          else if (r === 'unreachable') onLost('agent unreachable');
        });
        stop.signal.addEventListener('abort', () => void stopChild(child));
        const code = await exited;
        const wasLost = lost;
        stop.abort();
        await monitoring;
        if (!wasLost) await contender.release().catch(() => undefined);
        log(`Child exited with code ${code}`);
        if (wasLost) setExit(1);
        else if (code !== 0 && o.childExitCode) setExit(2);
      } finally {
        await cleanup();
      }
    });
}
