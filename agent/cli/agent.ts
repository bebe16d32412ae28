import type { Command } from 'commander';
import { Agent } from '../agent.js';
import { buildConfig, type FlagConfig, type RuntimeConfig } from '../config/config.js';
import type { RawConfig } from '../config/schema.js';
import { LogHub } from '../runtime/log-hub.js';
import { boolArg, collect, intArg } from './options.js';
import type { CliIO } from './io.js';

interface AgentFlags {
  dev?: boolean;
  server?: boolean;
  bootstrap?: boolean;
  bootstrapExpect?: number;
  node?: string;
  nodeId?: string;
  datacenter?: string;
  domain?: string;
  altDomain?: string;
  dataDir?: string;
  bind?: string;
  advertise?: string;
  client?: string;
  retryJoin?: string[];
  join?: string[];
  retryInterval?: string;
  retryMax?: number;
  httpPort?: number;
  dnsPort?: number;
  serverPort?: number;
  serfLanPort?: number;
  configFile?: string[];
  configDir?: string[];
  logLevel?: string;
  logJson?: boolean;
  encrypt?: string;
  recursor?: string[];
  nodeMeta?: string[];
  enableScriptChecks?: boolean;
  enableLocalScriptChecks?: boolean;
  rejoin?: boolean;
}

/** Turns parsed `herald agent` flags into a {@link FlagConfig} (flags in config-file form). */
export function agentFlagsToConfig(f: AgentFlags): FlagConfig {
  const raw: RawConfig = {};
  const set = (key: string, v: unknown): void => {
    if (v !== undefined) raw[key] = v;
  };
  set('server', f.server);
  set('bootstrap', f.bootstrap);
  set('bootstrap_expect', f.bootstrapExpect);
  set('node_name', f.node);
  set('node_id', f.nodeId);
  set('datacenter', f.datacenter);
  set('domain', f.domain);
  set('alt_domain', f.altDomain);
  set('data_dir', f.dataDir);
  set('bind_addr', f.bind);
  set('advertise_addr', f.advertise);
  set('client_addr', f.client);
  set('retry_join', f.retryJoin);
  set('start_join', f.join);
  set('retry_interval', f.retryInterval);
  set('retry_max', f.retryMax);
  set('log_level', f.logLevel);
  set('log_json', f.logJson);
  set('encrypt', f.encrypt);
  set('recursors', f.recursor);
  set('enable_script_checks', f.enableScriptChecks);
  set('enable_local_script_checks', f.enableLocalScriptChecks);
  set('rejoin_after_leave', f.rejoin);
  if (f.nodeMeta) {
    const meta: Record<string, string> = {};
    for (const kv of f.nodeMeta) {
      const i = kv.indexOf(':');
      meta[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1);
    }
    raw['node_meta'] = meta;
  }
  const ports: Record<string, number> = {};
  if (f.httpPort !== undefined) ports['http'] = f.httpPort;
  if (f.dnsPort !== undefined) ports['dns'] = f.dnsPort;
  if (f.serverPort !== undefined) ports['server'] = f.serverPort;
  if (f.serfLanPort !== undefined) ports['serf_lan'] = f.serfLanPort;
  if (Object.keys(ports).length) raw['ports'] = ports;
  return { dev: f.dev ?? false, configFiles: f.configFile, configDirs: f.configDir, raw };
}

const port = intArg(-1, 65535);

export function registerAgentCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('agent')
    .description('Run a Herald agent (client or server)')
    .option('--dev [bool]', 'development mode: a single in-memory server on 127.0.0.1', boolArg)
    .option('--server [bool]', 'run as a server', boolArg)
    .option('--bootstrap [bool]', 'bootstrap a single-server cluster', boolArg)
    .option('--bootstrap-expect <n>', 'servers to wait for before bootstrapping', intArg(0, 15))
    .option('--node <name>', 'node name (default: host name)')
    .option('--node-id <uuid>', 'node ID (default: generated and kept in the data dir)')
    .option('--datacenter <dc>', 'datacenter (default dc1)')
    .option('--domain <domain>', 'DNS domain (default consul.)')
    .option('--alt-domain <domain>', 'alternate DNS domain')
    .option('--data-dir <path>', 'directory for persistent state')
    .option('--bind <ip>', 'address for cluster traffic')
    .option('--advertise <ip>', 'address advertised to other agents')
    .option('--client <ip>', 'address(es) for HTTP and DNS (space separated)')
    .option('--retry-join <addr>', 'address to join, retried until it succeeds (repeatable)', collect)
    .option('--join <addr>', 'address to join once at start (repeatable)', collect)
    .option('--retry-interval <duration>', 'time between join attempts (default 30s)')
    .option('--retry-max <n>', 'join attempts before giving up (0 = forever)', intArg(0, 1_000_000))
    .option('--rejoin [bool]', 'rejoin the cluster after a previous leave', boolArg)
    .option('--http-port <port>', 'HTTP API port (default 8500)', port)
    .option('--dns-port <port>', 'DNS port (default 8600)', port)
    .option('--server-port <port>', 'server RPC/Raft port (default 8300)', port)
    .option('--serf-lan-port <port>', 'LAN gossip port (default 8301)', port)
    .option('--config-file <path>', 'JSON config file or directory (repeatable)', collect)
    .option('--config-dir <path>', 'directory of JSON config files (repeatable)', collect)
    .option('--log-level <level>', 'trace, debug, info, warn, err')
    .option('--log-json [bool]', 'log JSON lines', boolArg)
    .option('--encrypt <key>', 'gossip encryption key (herald keygen)')
    .option('--recursor <addr>', 'upstream DNS server (repeatable)', collect)
    .option('--node-meta <key:value>', 'node metadata (repeatable)', collect)
    .option('--enable-script-checks [bool]', 'allow script checks from the HTTP API', boolArg)
    .option('--enable-local-script-checks [bool]', 'allow script checks from config files', boolArg)
    .action(async (flags: AgentFlags) => {
      const config = buildConfig(agentFlagsToConfig(flags));
      setExit(await runAgent(config, io, () => buildConfig(agentFlagsToConfig(flags))));
    });
}

/**
 * Runs an agent until SIGINT/SIGTERM. The first signal shuts down cleanly (with a graceful
 * leave when configured); a second one exits at once. Resolves with the exit code.
 */
export async function runAgent(config: RuntimeConfig, io: CliIO, reloadConfig?: () => RuntimeConfig): Promise<number> {
  const logHub = new LogHub({ level: config.logLevel, json: config.logJson ?? !io.stdout.isTTY, destination: io.stdout });
  const logger = logHub.logger();
  let finish: (code: number) => void = () => undefined;
  const agent = new Agent({
    config,
    logger,
    logHub,
    ...(reloadConfig ? { reloadConfig } : {}),
    onFatal: (reason) => {
      // A requested leave ends the process normally; anything else is a failure.
      const code = reason === 'left the cluster' ? 0 : 1;
      void agent.shutdown().then(() => finish(code));
    },
  });
  await agent.start();
  const onHup = (): void => {
    logger.info('caught SIGHUP: reloading configuration');
    agent.reload().catch((err: Error) => logger.error(`reload failed: ${err.message}`));
  };
  if (reloadConfig) process.on('SIGHUP', onHup);
  return new Promise<number>((resolve) => {
    finish = (code) => {
      process.off('SIGHUP', onHup);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(code);
    };
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        logger.warn(`caught ${sig} again: exiting immediately`);
        process.exit(1);
      }
      const leave = sig === 'SIGTERM' ? config.leaveOnTerminate : !config.skipLeaveOnInterrupt;
      logger.info(`caught ${sig}: shutting down${leave ? ' (graceful leave)' : ''}; send it again to exit at once`);
      agent.shutdown({ leave }).then(
        () => {
          process.off('SIGHUP', onHup);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
