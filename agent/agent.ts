import { createServer, type Server } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { RuntimeConfig } from './config/config.js';
import { SystemClock, type Clock } from './runtime/clock.js';
import type { Logger } from './runtime/logger.js';
import { createHttpApp } from './http/app.js';
import type { CatalogClient } from './http/catalog-client.js';
import { randomRng } from './runtime/rng.js';
import { LocalState } from './local/state.js';
import { AntiEntropy } from './local/anti-entropy.js';
import { TtlChecks } from './checks/ttl.js';
import { CatalogEndpoint } from '../catalog/endpoint.js';
import { LocalApplier } from '../catalog/local-applier.js';
import { StateStore } from '../catalog/state/index.js';
import { VERSION } from './version.js';

/** How long shutdown waits for HTTP requests in flight. */
export const SHUTDOWN_DRAIN_MS = 5000;

export interface AgentOptions {
  config: RuntimeConfig;
  logger: Logger;
  clock?: Clock;
}

/** A listening address of one of the agent's interfaces. */
export interface BoundAddress {
  address: string;
  port: number;
}

/**
 * The composition root: the only place that opens sockets, files and timers. Everything it
 * builds takes its I/O by injection, so each part is testable alone.
 */
export class Agent {
  readonly config: RuntimeConfig;
  readonly nodeId: string;
  private readonly log: Logger;
  /** Time source for every timer the agent's parts run. */
  readonly clock: Clock;
  private readonly httpServers: Server[] = [];
  /** Catalog reads and writes: in process on a lone bootstrapping server until Raft and RPC are wired. */
  private catalog: CatalogClient | undefined;
  private local: LocalState | undefined;
  private ttl: TtlChecks | undefined;
  private antiEntropy: AntiEntropy | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(opts: AgentOptions) {
    this.config = opts.config;
    this.log = opts.logger.child({ component: 'agent' });
    this.clock = opts.clock ?? new SystemClock();
    this.nodeId = this.loadNodeId();
  }

  /** Opens every interface. Rejects (and closes what it opened) if any port cannot be bound. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('agent: start() called twice');
    this.state = 'running';
    const c = this.config;
    try {
      this.startCatalog();
      if (c.ports.http >= 0) {
        const app = createHttpApp({
          config: c,
          nodeId: this.nodeId,
          version: VERSION,
          logger: this.log,
          status: {
            leader: () => (this.isOwnLeader() ? this.serverAddress() : ''),
            peers: () => (this.isOwnLeader() ? [this.serverAddress()] : []),
          },
          catalog: this.catalog,
          local: this.local && this.ttl ? { state: this.local, ttl: this.ttl } : undefined,
        });
        const handler = app.callback();
        for (const addr of c.clientAddrs) {
          const server = createServer(handler);
          server.keepAliveTimeout = 30_000;
          await listen(server, addr, c.ports.http);
          this.httpServers.push(server);
          const a = server.address() as AddressInfo;
          this.log.info({ address: a.address, port: a.port }, `HTTP API listening on ${fmtAddr(a.address, a.port)}`);
        }
      }
    } catch (e) {
      await this.shutdown();
      throw e;
    }
    this.log.info(
      { node: c.nodeName, nodeId: this.nodeId, datacenter: c.datacenter, server: c.server, dev: c.dev },
      `agent started: node ${c.nodeName} in ${c.datacenter}${c.server ? ' (server)' : ''}${c.dev ? ' in dev mode' : ''}`,
    );
  }

  /**
   * Local state (persisted in data_dir), TTL checks and, where a catalog is reachable,
   * anti-entropy. Until Raft and agent↔server RPC exist, only a bootstrapping server (dev
   * mode) has a catalog: an in-memory StateStore written through the single-node
   * LocalApplier. The integrator replaces that with Raft on servers and an RPC client on
   * client agents; everything above the CatalogClient seam stays as it is.
   */
  private startCatalog(): void {
    const c = this.config;
    const rng = randomRng();
    if (this.isOwnLeader()) {
      const store = new StateStore({ datacenter: c.datacenter });
      this.catalog = new CatalogEndpoint({
        store,
        propose: new LocalApplier(store).propose,
        timers: this.clock,
        rng: () => rng.next(),
        status: () => ({ knownLeader: true, lastContactMs: 0 }),
      });
    }
    this.local = LocalState.open({ dataDir: c.dataDir ? join(c.dataDir, 'local') : undefined, logger: this.log });
    this.ttl = new TtlChecks(this.local, this.clock, this.log);
    this.ttl.start();
    if (this.catalog) {
      this.antiEntropy = new AntiEntropy({
        local: this.local,
        catalog: this.catalog,
        node: {
          name: c.nodeName,
          id: this.nodeId,
          address: c.advertiseAddr,
          datacenter: c.datacenter,
          taggedAddresses: { lan: c.advertiseAddr, wan: c.advertiseAddr },
          meta: c.nodeMeta,
        },
        clock: this.clock,
        rng: rng.fork(),
        logger: this.log,
      });
      this.antiEntropy.start();
    }
  }

  /** Addresses the HTTP API is bound to (with the real port when 0 was asked for). */
  httpAddresses(): BoundAddress[] {
    return this.httpServers.map((s) => {
      const a = s.address() as AddressInfo;
      return { address: a.address, port: a.port };
    });
  }

  /** Closes every interface; safe to call more than once. `leave` asks for a graceful cluster leave first. */
  async shutdown(opts: { leave?: boolean } = {}): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    if (opts.leave) this.log.info('leaving the cluster');
    this.antiEntropy?.stop();
    this.ttl?.stop();
    await Promise.all(this.httpServers.map((s) => this.drain(s)));
    this.httpServers.length = 0;
    this.state = 'stopped';
    this.log.info('agent stopped');
  }

  /**
   * Stops accepting connections, closes idle keep-alive ones, and lets requests in flight
   * finish for up to {@link SHUTDOWN_DRAIN_MS} before cutting them.
   */
  private drain(server: Server): Promise<void> {
    return new Promise<void>((resolve) => {
      const force = this.clock.setTimeout(() => server.closeAllConnections(), SHUTDOWN_DRAIN_MS);
      server.close(() => {
        this.clock.clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
  }

  /** The server RPC address other servers and `status/leader` name: "ip:port". */
  serverAddress(): string {
    return fmtAddr(this.config.advertiseAddr, this.config.ports.server);
  }

  /** Until the Raft group exists, only a bootstrapping single server (dev mode) leads itself. */
  private isOwnLeader(): boolean {
    return this.config.server && this.config.bootstrap;
  }

  /** Node ID: from config, else persisted in data_dir (created once), else random for dev mode. */
  private loadNodeId(): string {
    if (this.config.nodeId) return this.config.nodeId;
    const dir = this.config.dataDir;
    if (!dir) return randomUUID();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'node-id');
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (/^[0-9a-f-]{36}$/i.test(id)) return id.toLowerCase();
      throw new Error(`agent: ${file} does not hold a UUID; remove it to generate a new node ID`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const id = randomUUID();
    writeFileSync(`${file}.tmp`, id, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    return id;
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(
        new Error(
          e.code === 'EADDRINUSE'
            ? `agent: HTTP port ${port} on ${host} is already in use (set -http-port or ports.http)`
            : `agent: cannot listen on ${fmtAddr(host, port)}: ${e.message}`,
          { cause: e },
        ),
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** "ip:port", with brackets for IPv6. */
export function fmtAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
