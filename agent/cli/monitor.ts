import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Command } from 'commander';
import { clientFor } from './client.js';
import { CliError, println, type CliIO } from './io.js';

/** `herald monitor [-log-level=info] [-log-json]`: streams the running agent's logs until interrupted. */
export function registerMonitorCommand(program: Command, io: CliIO): void {
  program
    .command('monitor')
    .description("Stream the running agent's log lines")
    .option('--log-level <level>', 'trace, debug, info, warn or err', 'info')
    .option('--log-json', 'JSON lines as the agent logs them')
    .action(async (opts: { logLevel: string; logJson?: boolean }, cmd: Command) => {
      const base = clientFor(cmd, io).base;
      const q = new URLSearchParams({ loglevel: opts.logLevel });
      if (opts.logJson) q.set('logjson', 'true');
      const url = new URL(`/v1/agent/monitor?${q}`, base);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      await new Promise<void>((resolve, reject) => {
        const req = send(url, { method: 'GET' }, (res) => {
          if (res.statusCode !== 200) {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => reject(new CliError(`Unexpected response code: ${res.statusCode} (${text.trim()})`)));
            return;
          }
          res.pipe(io.stdout, { end: false });
          res.on('end', () => {
            println(io.stderr, 'Remote side ended the monitor! This usually means that the remote side has exited or crashed.');
            finish();
          });
          res.on('error', () => finish());
        });
        const finish = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        const stop = (): void => {
          req.destroy();
          finish();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        req.on('error', (e: NodeJS.ErrnoException) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          reject(new CliError(`cannot reach the Herald agent at ${base.host}: ${e.code ?? e.message}`));
        });
        req.end();
      });
    });
}

/** `herald reload`: asks the agent to re-read its config files. */
export function registerReloadCommand(program: Command, io: CliIO): void {
  program
    .command('reload')
    .description('Reload the agent configuration files (services, checks, watches, log level)')
    .action(async (_opts: unknown, cmd: Command) => {
      const r = await clientFor(cmd, io).request('PUT', '/v1/agent/reload');
      if (r.status !== 200) throw new CliError(`Error reloading: Unexpected response code: ${r.status} (${r.text.trim()})`);
      println(io.stdout, 'Configuration reload triggered');
    });
}
