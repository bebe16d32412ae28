import type { Command } from 'commander';
import { clientFor } from './client.js';
import { CliError, type CliIO } from './io.js';
import { SystemClock } from '../runtime/clock.js';
import { createLogger } from '../runtime/logger.js';
import { stringifyJson } from '../runtime/json64.js';
import { Watcher } from '../watch/watcher.js';
import { WATCH_TYPES, WatchError, watchQuery, type WatchParams, type WatchType } from '../watch/plan.js';
import { agentFetch } from '../watch/agent-watches.js';
import { scriptHandler } from '../watch/handlers.js';

interface WatchOpts {
  type: string;
  key?: string;
  prefix?: string;
  service?: string;
  tag?: string[];
  state?: string;
  passingonly?: boolean;
  name?: string;
  datacenter?: string;
  stale?: boolean;
}

/**
 * `herald watch -type=<type> [params] [handler...]`: follows a view of the cluster with
 * blocking queries. Without a handler each changed value is printed as JSON; with one, the
 * handler runs as `sh -c "<handler...>"` with the JSON on stdin, once per change. Runs until
 * interrupted (SIGINT/SIGTERM).
 */
export function registerWatchCommand(program: Command, io: CliIO): void {
  program
    .command('watch')
    .description('Watch a view of the cluster (key, keyprefix, services, nodes, service, checks, event) and print or handle each change')
    .requiredOption('--type <type>', `one of ${WATCH_TYPES.join(', ')}`)
    .option('--key <key>', 'key to watch (type key)')
    .option('--prefix <prefix>', 'key prefix to watch (type keyprefix)')
    .option('--service <name>', 'service to watch (type service; type checks: checks of this service)')
    .option('--tag <tag>', 'only instances with this tag (type service; repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--state <state>', 'check state to watch (type checks: any, passing, warning, critical)')
    .option('--passingonly', 'only instances whose checks all pass (type service)')
    .option('--name <name>', 'event name to watch (type event)')
    .option('--datacenter <dc>', 'datacenter to query')
    .option('--stale', 'allow stale reads')
    .argument('[handler...]', 'command run through sh -c with the JSON on stdin')
    .action(async (handlerArgs: string[], opts: WatchOpts, cmd: Command) => {
      const params: WatchParams = {
        type: opts.type as WatchType,
        ...(opts.key !== undefined ? { key: opts.key } : {}),
        ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
        ...(opts.service !== undefined ? { service: opts.service } : {}),
        ...(opts.tag ? { tag: opts.tag } : {}),
        ...(opts.state !== undefined ? { state: opts.state } : {}),
        ...(opts.passingonly ? { passingOnly: true } : {}),
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.datacenter !== undefined ? { datacenter: opts.datacenter } : {}),
        ...(opts.stale ? { stale: true } : {}),
      };
      try {
        watchQuery(params);
      } catch (e) {
        if (e instanceof WatchError) throw new CliError(e.message.replace(/^watch: /, ''));
        throw e;
      }
      const clock = new SystemClock();
      const logger = createLogger({ destination: io.stderr, level: 'warn', json: false });
      const base = clientFor(cmd, io).base;
      const handler =
        handlerArgs.length > 0
          ? scriptHandler({ shell: handlerArgs.join(' '), clock, logger, stdout: io.stdout, timeoutMs: 5 * 60_000 })
          : (value: unknown) => {
              io.stdout.write(`${stringifyJson(value, 4)}\n`);
            };
      const w = new Watcher({ params, fetch: agentFetch(base), handler, clock, logger });
      w.start();
      await new Promise<void>((resolve) => {
        const done = (): void => {
          process.off('SIGINT', done);
          process.off('SIGTERM', done);
          resolve();
        };
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await w.stop();
    });
}
