import { createServer, type Server } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { RuntimeConfig } from './config/config.js';
import { SystemClock, type Clock, type TimerHandle } from './runtime/clock.js';
import { randomRng, type Rng } from './runtime/rng.js';
import type { Logger } from './runtime/logger.js';
import { createHttpApp, type HttpDeps } from './http/app.js';
import { httpRequestListener } from './http/listener.js';
import { Gossip } from './swim/gossip.js';
import { loadKeyring, saveKeyring } from './swim/keyring-file.js';
import { loadPeers, savePeers } from './swim/peers-file.js';
import { UserEventLog } from './events.js';
import type { CatalogClient } from './http/catalog-client.js';
import { LocalState } from './local/state.js';
import { AntiEntropy } from './local/anti-entropy.js';
import { TtlChecks } from './checks/ttl.js';
import { AgentHealth } from './checks/agent-health.js';
import { Telemetry } from './telemetry/registry.js';
import { AgentWatches, selfFetch } from './watch/agent-watches.js';
import type { LogHub } from './runtime/log-hub.js';
import { catalogMetrics, dnsMetrics, gossipMetrics, raftMetrics, runtimeMetrics, timedPropose } from './telemetry/sources.js';
import { CatalogEndpoint } from '../catalog/endpoint.js';
import { TimerWheel } from '../catalog/timer-wheel.js';
import { encodeCommand, type ApplyResult } from '../catalog/state/index.js';
import { ServerCatalogClient, RemoteCatalogClient, registerCatalogEndpoints } from './rpc/catalog.js';
import { VERSION } from './version.js';
import { ServerPortMux, Protocol } from './rpc/mux.js';
import { RpcServer } from './rpc/server.js';
import { RpcClient } from './rpc/client.js';
import { ServerPool } from './rpc/pool.js';
import { LocalClusterOps, RemoteClusterOps, registerServerEndpoints, Methods, type ClusterOps } from './rpc/endpoints.js';
import { CatalogServer, type ServerInfo } from '../catalog/server.js';
import type { MemberView } from '../catalog/reconcile.js';
import { DnsServer, type DnsServerOptions } from '../dns/server.js';
import { storeReader } from '../dns/catalog-reader.js';
import { DNS_QUERY, DnsQueryRouter, type DnsQueryArgs, type DnsStaleness } from './rpc/dns.js';
import { TcpTransport } from '../catalog/raft/transport.js';
import { writeTracer } from '../catalog/raft/trace.js';
import { MemoryStorage } from '../catalog/raft/memory-storage.js';
import { FileStorage } from '../catalog/raft/wal/index.js';
import type { Message } from '../catalog/raft/core/messages.js';
import type { MemberInfo } from './swim/core/membership.js';


/** How long shutdown waits for HTTP requests in flight. */
export const SHUTDOWN_DRAIN_MS = 5000;
/** How long a graceful leave waits for the news to spread. */
export const LEAVE_TIMEOUT_MS = 5000;
/** After the leave broadcast went out, keep gossiping this long so it reaches everyone (Serf's LeavePropagateDelay). */
export const LEAVE_PROPAGATE_MS = 1000;

export interface AgentOptions {
  config: RuntimeConfig;
  logger: Logger;
  clock?: Clock;
  rng?: Rng;
  /** Called when the agent cannot go on (retry_join exhausted, leave requested over HTTP). */
  onFatal?: (reason: string) => void;
  /** The log fan-out `logger` writes into: `/v1/agent/monitor`, and the level a reload sets. */
  logHub?: LogHub;
  /** Re-reads the config files with the agent's flags (`herald reload`, SIGHUP). */
  reloadConfig?: () => RuntimeConfig;
}

/** A listening address of one of the agent's interfaces. */
export interface BoundAddress {
  address: string;
  port: number;
}

/**
 * The composition root: the only place that decides which sockets, files and timers exist.
 * Everything it builds takes its I/O by injection, so each part is testable alone.
 */
export class Agent {
  readonly config: RuntimeConfig;
  readonly nodeId: string;
  /** Time source for every timer the agent's parts run. */
  readonly clock: Clock;
  readonly rng: Rng;
  /** Metrics of every part (`/v1/agent/metrics`); the DNS server counts into it too (docs/telemetry.md). */
  readonly telemetry: Telemetry;
  /** Set by start(); the server port must be bound first so the tags can carry it. */
  gossip!: Gossip;
  events!: UserEventLog;
  /** Present on servers only. */
  server: CatalogServer | undefined;
  readonly rpcClient: RpcClient;
  readonly pool: ServerPool;
  cluster!: ClusterOps;
  private mux: ServerPortMux | undefined;
  private rpcServer: RpcServer | undefined;
  /** One per client address; on servers also the answerer of DNS queries forwarded by clients. */
  private readonly dnsServers: DnsServer[] = [];
  /** Servers: which server answers a DNS query (allow_stale / max_stale). */
  private dnsRouter: DnsQueryRouter | undefined;
  private serverPort = 0;
  private readonly keyring;
  private serverSync: TimerHandle | undefined;
  private readonly log: Logger;
  private readonly httpServers: Server[] = [];
  private readonly keyringFile: string | undefined;
  private joinTimer: TimerHandle | undefined;
  private peersTimer: TimerHandle | undefined;
  private serverSyncQueued = false;
  /** Set once this agent has left the cluster on purpose (recorded for the next start). */
  private leftCluster = false;
  private readonly peersFile: string | undefined;
  /** Catalog reads and writes: the local Raft server (forwarding to the leader) on servers, RPC through the pool on clients. */
  private catalog: CatalogClient | undefined;
  private local: LocalState | undefined;
  private ttl: TtlChecks | undefined;
  private antiEntropy: AntiEntropy | undefined;
  /** Check runners, reaper, maintenance, config-file services/checks. */
  private health: AgentHealth | undefined;
  /** Watches from the config, run against this agent's HTTP API. */
  private watches: AgentWatches | undefined;
  private watchConfig: unknown[] = [];
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(private readonly opts: AgentOptions) {
    this.config = opts.config;
    this.log = opts.logger.child({ component: 'agent' });
    this.clock = opts.clock ?? new SystemClock();
    this.rng = opts.rng ?? randomRng();
    this.telemetry = new Telemetry(() => this.clock.now());
    dnsMetrics(this.telemetry, () => this.dnsServers, () => this.dnsRouter?.counters);
    runtimeMetrics(this.telemetry);
    this.nodeId = this.loadNodeId();
    const c = this.config;
    this.keyringFile = c.dataDir ? join(c.dataDir, 'serf', 'local.keyring') : undefined;
    this.peersFile = c.dataDir ? join(c.dataDir, 'serf', 'peers.json') : undefined;
    const { keyring, source } = loadKeyring(this.keyringFile, c.encrypt);
    if (source === 'file' && c.encrypt) this.log.info('using the keyring in the data dir; the encrypt setting is ignored');
    this.keyring = keyring;
    this.rpcClient = new RpcClient(this.clock);
    this.pool = new ServerPool({ client: this.rpcClient, clock: this.clock, rng: this.rng.fork() });
  }

  private createGossip(): void {
    const c = this.config;
    const keyring = this.keyring;
    const { profile, ...overrides } = c.gossip;
    this.gossip = new Gossip({
      name: c.nodeName,
      bindAddr: c.bindAddr,
      bindPort: c.ports.serfLan,
      advertiseAddr: c.advertiseAddr,
      tags: this.serfTags(),
      profile,
      config: { ...overrides, reconnectTimeoutMs: c.reconnectTimeoutMs, tombstoneTimeoutMs: c.reconnectTimeoutMs },
      clock: this.clock,
      rng: this.rng.fork(),
      logger: this.opts.logger,
      ...(keyring ? { keyring } : {}),
    });
    this.gossip.on('keyring-change', () => {
      if (this.keyringFile && keyring) saveKeyring(this.keyringFile, keyring);
    });
    this.events = new UserEventLog(this.gossip, c.nodeName, this.clock);
    gossipMetrics(this.telemetry, this.gossip);
    for (const ev of ['member-join', 'member-failed', 'member-leave', 'member-reap'] as const) {
      this.gossip.on(ev, (m) => {
        this.log.info({ member: m.name, addr: `${m.addr}:${m.port}` }, `${ev.replace('member-', 'member ')}: ${m.name}`);
        this.scheduleServerSync();
      });
    }
    this.gossip.on('member-update', () => this.scheduleServerSync());
    for (const ev of ['member-join', 'member-update', 'member-reap'] as const) this.gossip.on(ev, () => this.schedulePeersSave());
  }

  /**
   * Server role: the server port (RPC and Raft multiplexed), Raft storage (the WAL under
   * data_dir/raft, or memory in dev mode) and the catalog server.
   */
  private async startServer(): Promise<void> {
    const c = this.config;
    const logger = this.opts.logger;
    this.mux = await ServerPortMux.listen({ host: c.bindAddr, port: c.ports.server, logger });
    this.serverPort = this.mux.port;
    const transport = TcpTransport.detached<Message>({
      nodeId: this.nodeId,
      clock: this.clock,
      rng: this.rng.fork(),
      logger,
      connectPreamble: Uint8Array.of(Protocol.Raft),
    });
    this.mux.handle(Protocol.Raft, (sock) => transport.acceptConnection(sock));
    const storage = c.dataDir ? await FileStorage.open(join(c.dataDir, 'raft'), { nodeId: this.nodeId, logger }) : new MemoryStorage();
    const server = new CatalogServer({
      id: this.nodeId,
      name: c.nodeName,
      address: this.serverAddress(),
      datacenter: c.datacenter,
      storage,
      transport,
      clock: this.clock,
      rng: this.rng.fork(),
      logger,
      bootstrap: c.bootstrap,
      bootstrapExpect: c.bootstrapExpect,
      tickMs: 100 * c.raftMultiplier,
      snapshotThreshold: c.raftSnapshotThreshold,
      trailingLogs: c.raftTrailingLogs,
      peerHasState: (s) => this.rpcClient.call<boolean>(s.address, Methods.RaftHasState, {}, 2000),
    });
    this.server = server;
    raftMetrics(this.telemetry, server);
    catalogMetrics(this.telemetry, server.store);
    const rpc = new RpcServer(logger);
    this.rpcServer = rpc;
    const ops = new LocalClusterOps(server, this.rpcClient);
    registerServerEndpoints(rpc, server, ops);
    this.mux.handle(Protocol.Rpc, (sock) => rpc.handleConnection(sock));
    this.cluster = ops;
    const rng = this.rng.fork();
    const endpoint = new CatalogEndpoint({
      store: server.store,
      propose: timedPropose(this.telemetry, async (cmd) => (await server.propose(encodeCommand(cmd))).result as ApplyResult),
      // One real timer for all blocked reads' waits instead of one each.
      timers: new TimerWheel({ base: this.clock, now: () => this.clock.monotonic() }),
      rng: () => rng.next(),
      status: () => ({ knownLeader: server.raft.leader !== '', lastContactMs: server.lastContactMs() }),
    });
    const catalog = new ServerCatalogClient(server, endpoint, this.rpcClient);
    registerCatalogEndpoints(rpc, catalog);
    this.catalog = catalog;
    // Answers DNS for this server's listeners and for client agents (forwarded raw over RPC).
    const dnsAnswerer = new DnsServer({ ...this.dnsOptions(), reader: storeReader(server.store) });
    this.dnsServers.push(dnsAnswerer);
    const router = new DnsQueryRouter({ server, catalog, answerer: dnsAnswerer, logger });
    this.dnsRouter = router;
    rpc.register(DNS_QUERY, (args) => router.answer(args as DnsQueryArgs));
    await server.start();
    this.log.info(`server port (RPC and Raft) listening on ${this.serverAddress()}`);
  }

  /** Feeds the gossip view of servers to the RPC pool and, on servers, to the Raft server role. */
  /**
   * Runs {@link syncServers} once after the current burst of member events: one datagram or
   * push-pull can carry dozens of them, and each sync walks every member.
   */
  private scheduleServerSync(): void {
    if (this.serverSyncQueued) return;
    this.serverSyncQueued = true;
    queueMicrotask(() => {
      this.serverSyncQueued = false;
      this.syncServers();
    });
  }

  private syncServers(): void {
    if (this.state !== 'running' || !this.gossip) return;
    const c = this.config;
    const servers: ServerInfo[] = [];
    for (const m of this.gossip.members()) {
      const info = serverInfo(m, c.datacenter);
      if (info) servers.push(info);
    }
    this.pool.update(servers.filter((s) => s.status === 'alive' || s.status === 'suspect').map((s) => ({ name: s.name, address: s.address })));
    this.server?.updateServers(servers);
    this.server?.updateMembers(
      this.gossip.members().map((m) => {
        const port = m.tags['role'] === 'consul' && m.tags['dc'] === c.datacenter ? Number(m.tags['port']) : NaN;
        return { name: m.name, id: m.tags['id'] ?? '', addr: m.addr, status: m.status as MemberView['status'], ...(port > 0 ? { serverPort: port } : {}) };
      }),
    );
  }

  /** Opens every interface and joins the cluster. Rejects (and closes what it opened) if any port cannot be bound. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('agent: start() called twice');
    this.state = 'running';
    const c = this.config;
    try {
      if (c.server) await this.startServer();
      else {
        this.cluster = new RemoteClusterOps((method, args) => this.pool.call(method, args));
        this.catalog = new RemoteCatalogClient(this.pool);
      }
      this.createGossip();
      await this.gossip.start().catch((e: NodeJS.ErrnoException) => {
        throw new Error(
          e.code === 'EADDRINUSE'
            ? `agent: gossip port ${c.ports.serfLan} on ${c.bindAddr} is already in use (set -serf-lan-port or ports.serf_lan)`
            : `agent: cannot start gossip on ${fmtAddr(c.bindAddr, c.ports.serfLan)}: ${e.message}`,
          { cause: e },
        );
      });
      this.startLocal();
      this.syncServers();
      this.serverSync = this.clock.setInterval(() => this.syncServers(), 5000);
      if (c.ports.http >= 0) await this.startHttp();
      if (c.ports.dns >= 0) await this.startDns();
      this.watches = new AgentWatches({ clock: this.clock, logger: this.opts.logger, fetch: selfFetch(this.httpAddresses()) });
      await this.watches.start(AgentWatches.parseAll(c.watches));
      this.watchConfig = c.watches;
    } catch (e) {
      await this.shutdown();
      throw e;
    }
    this.log.info(
      { node: c.nodeName, nodeId: this.nodeId, datacenter: c.datacenter, server: c.server, dev: c.dev, gossip: this.gossip.address() },
      `agent started: node ${c.nodeName} in ${c.datacenter}${c.server ? ' (server)' : ''}${c.dev ? ' in dev mode' : ''}`,
    );
    if (c.startJoin.length) {
      this.gossip.join(c.startJoin).then(
        (n) => this.log.info(`joined ${n} of ${c.startJoin.length} start_join addresses`),
        (e: Error) => this.log.warn(`start_join failed: ${e.message}`),
      );
    }
    if (c.retryJoin.length) this.retryJoin(1);
    this.rejoinKnownPeers();
  }

  /** DNS interface options from `domain`, `alt_domain`, `recursors` and `dns_config`. */
  private dnsOptions(): DnsServerOptions {
    const c = this.config;
    const d = c.dns;
    const rng = this.rng.fork();
    return {
      domain: c.domain.replace(/\.$/, ''),
      ...(c.altDomain ? { altDomain: c.altDomain.replace(/\.$/, '') } : {}),
      datacenter: c.datacenter,
      nodeTtlMs: d.nodeTtlMs,
      serviceTtlMs: d.serviceTtlMs,
      udpAnswerLimit: d.udpAnswerLimit,
      aRecordLimit: d.aRecordLimit,
      onlyPassing: d.onlyPassing,
      enableAdditionalNodeMetaTxt: d.enableAdditionalNodeMetaTxt,
      enableTruncate: d.enableTruncate,
      recursors: c.recursors,
      recursorTimeoutMs: d.recursorTimeoutMs,
      recursorStrategy: d.recursorStrategy,
      soa: { refresh: d.soa.refresh, retry: d.soa.retry, expire: d.soa.expire, minTtl: d.soa.minTtl },
      random: () => rng.next(),
      logger: this.opts.logger,
    };
  }

  /**
   * DNS on every client address, under `dns_config.allow_stale` / `max_stale` (agent/rpc/dns.ts):
   * a server answers from its own replica while that is allowed, else through the leader; a
   * client agent passes each query, with its staleness rules, to a server over RPC.
   */
  private async startDns(): Promise<void> {
    const c = this.config;
    const staleness: DnsStaleness = { allowStale: c.dns.allowStale, maxStaleMs: c.dns.maxStaleMs };
    const router = this.dnsRouter;
    for (const host of c.clientAddrs) {
      const base = { ...this.dnsOptions(), host, port: c.ports.dns };
      const dns = this.server && router
        ? new DnsServer({
            ...base,
            reader: storeReader(this.server.store),
            localGate: () => router.localAllowed(staleness),
            upstream: async (msg, transport) => {
              const out = await router.answer({ msg, transport, ...staleness });
              return out === null ? null : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
            },
          })
        : new DnsServer({
            ...base,
            upstream: async (msg, transport) => {
              const args: DnsQueryArgs = { msg: new Uint8Array(msg), transport, ...staleness };
              const out = await this.pool.call<Uint8Array | null>(DNS_QUERY, args, 5000);
              return out === null ? null : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
            },
          });
      await dns.start().catch((e: NodeJS.ErrnoException) => {
        throw new Error(
          e.code === 'EADDRINUSE' ? `agent: DNS port ${c.ports.dns} on ${host} is already in use (set -dns-port or ports.dns)` : `agent: cannot start DNS on ${fmtAddr(host, c.ports.dns)}: ${e.message}`,
          { cause: e },
        );
      });
      this.dnsServers.push(dns);
      const a = dns.address();
      this.log.info({ address: a.host, port: a.port }, `DNS listening on ${fmtAddr(a.host, a.port)} (UDP and TCP)`);
    }
  }

  private async startHttp(): Promise<void> {
    const c = this.config;
    const deps: HttpDeps = {
      config: c,
      nodeId: this.nodeId,
      version: VERSION,
      logger: this.log,
      status: {
        leader: () => this.cluster.leader(),
        peers: () => this.cluster.peers(),
      },
      cluster: this.cluster,
      catalog: this.catalog,
      local: this.local && this.ttl ? { state: this.local, ttl: this.ttl } : undefined,
      maintenance: this.health?.maintenance,
      telemetry: this.telemetry,
      logHub: this.opts.logHub,
      reload: this.opts.reloadConfig ? () => this.reload() : undefined,
      gossip: this.gossip,
      events: this.events,
      clock: this.clock,
      lifecycle: { leave: () => this.leaveAndStop() },
    };
    const callback = httpRequestListener(createHttpApp(deps), deps);
    const handler: typeof callback = !writeTracer.enabled
      ? callback
      : (req, res) => {
          const t = writeTracer.httpRequest(req, req.socket);
          res.once('finish', () => writeTracer.httpFinished(t, req.socket));
          return callback(req, res);
        };
    for (const addr of c.clientAddrs) {
      const server = createServer(handler);
      server.keepAliveTimeout = 30_000;
      await listen(server, addr, c.ports.http);
      this.httpServers.push(server);
      const a = server.address() as AddressInfo;
      this.log.info({ address: a.address, port: a.port }, `HTTP API listening on ${fmtAddr(a.address, a.port)}`);
    }
  }

  /** Rejoins the members known before a restart (Serf's snapshot rejoin), unless this agent had left on purpose. */
  private rejoinKnownPeers(): void {
    if (!this.peersFile) return;
    const snap = loadPeers(this.peersFile);
    if (!snap || snap.peers.length === 0) return;
    if (snap.left && !this.config.rejoinAfterLeave) {
      this.log.info('left the cluster before the restart; not rejoining known members (set rejoin_after_leave to do so)');
      return;
    }
    const self = this.gossip.address();
    const peers = snap.peers.filter((p) => p !== self);
    if (peers.length === 0) return;
    this.gossip.join(peers).then(
      (n) => this.log.info(`rejoined the cluster through ${n} of ${peers.length} members known before the restart`),
      (e: Error) => this.log.warn(`could not rejoin members known before the restart: ${e.message}`),
    );
  }

  /** Writes the known members' gossip addresses at most once a second. */
  private schedulePeersSave(): void {
    if (!this.peersFile || this.peersTimer || this.state !== 'running') return;
    this.peersTimer = this.clock.setTimeout(() => {
      this.peersTimer = undefined;
      this.savePeersNow(false);
    }, 1000);
  }

  private savePeersNow(left: boolean): void {
    if (!this.peersFile || !this.gossip) return;
    this.leftCluster ||= left;
    const self = this.config.nodeName;
    const peers = this.gossip
      .members()
      .filter((m) => m.name !== self && (m.status === 'alive' || m.status === 'suspect' || m.status === 'failed'))
      .map((m) => fmtAddr(m.addr, m.port));
    try {
      savePeers(this.peersFile, { peers, left: this.leftCluster });
    } catch (e) {
      this.log.warn(`cannot write ${this.peersFile}: ${(e as Error).message}`);
    }
  }

  /** retry_join: try every address; on failure wait retry_interval and try again, up to retry_max attempts (0 = forever). */
  private retryJoin(attempt: number): void {
    const c = this.config;
    if (this.state !== 'running') return;
    this.gossip.join(c.retryJoin).then(
      (n) => this.log.info(`retry_join: joined the cluster through ${n} of ${c.retryJoin.length} addresses (attempt ${attempt})`),
      (e: Error) => {
        if (this.state !== 'running') return;
        if (c.retryMax > 0 && attempt >= c.retryMax) {
          this.log.error(`retry_join: giving up after ${attempt} attempts: ${e.message}`);
          this.opts.onFatal?.(`retry_join failed after ${attempt} attempts`);
          return;
        }
        this.log.warn(`retry_join: attempt ${attempt} failed (${e.message}); retrying in ${c.retryIntervalMs} ms`);
        this.joinTimer = this.clock.setTimeout(() => this.retryJoin(attempt + 1), c.retryIntervalMs);
      },
    );
  }

  /** `PUT /v1/agent/leave`: leave gracefully, then stop the agent (the process exits). */
  private async leaveAndStop(): Promise<void> {
    await this.gossip.leave(LEAVE_TIMEOUT_MS);
    this.savePeersNow(true);
    await new Promise<void>((r) => this.clock.setTimeout(r, LEAVE_PROPAGATE_MS));
    // Answer the HTTP request first, then stop.
    this.clock.setTimeout(() => {
      void this.shutdown().then(() => this.opts.onFatal?.('left the cluster'));
    }, 50);
  }

  /**
   * This agent's own services and checks (persisted under data_dir/local), TTL checks, and
   * anti-entropy that keeps the catalog's view of this node equal to them.
   */
  private startLocal(): void {
    const c = this.config;
    const catalog = this.catalog as CatalogClient;
    this.local = LocalState.open({ dataDir: c.dataDir ? join(c.dataDir, 'local') : undefined, logger: this.log });
    this.ttl = new TtlChecks(this.local, this.clock, this.log);
    this.ttl.start();
    const telemetry = this.telemetry;
    this.health = new AgentHealth({
      local: this.local, config: c, clock: this.clock, rng: this.rng.fork(), logger: this.opts.logger, catalog,
      ...(c.dataDir ? { sourcesFile: join(c.dataDir, 'local', 'config-sources.json') } : {}),
      onResult: (type, r) => telemetry.counter('consul.checks.run', { type, status: r.status }),
    });
    this.health.start();
    this.antiEntropy = new AntiEntropy({
      local: this.local,
      catalog,
      node: {
        name: c.nodeName,
        id: this.nodeId,
        address: c.advertiseAddr,
        datacenter: c.datacenter,
        taggedAddresses: { lan: c.advertiseAddr, wan: c.advertiseAddr },
        meta: c.nodeMeta,
      },
      clock: this.clock,
      rng: this.rng.fork(),
      logger: this.log,
      clusterSize: () => this.gossip?.members().filter((m) => m.status === 'alive').length ?? 1,
      checkUpdateIntervalMs: c.checkUpdateIntervalMs,
    });
    this.antiEntropy.start();
  }

  /**
   * Re-reads the config files and applies what can change at run time: services and checks
   * from files (added, changed, removed; those registered over HTTP stay), watches, and the
   * log level. Everything is validated first; a bad config rejects and changes nothing.
   */
  async reload(): Promise<void> {
    if (!this.opts.reloadConfig) throw new Error('agent: reload is not available (no config source)');
    const next = this.opts.reloadConfig();
    const watches = AgentWatches.parseAll(next.watches);
    this.health?.reload(next);
    this.opts.logHub?.setLevel(next.logLevel);
    if (this.watches && JSON.stringify(next.watches) !== JSON.stringify(this.watchConfig)) await this.watches.start(watches);
    this.watchConfig = next.watches;
    this.log.info({ sources: next.sources }, 'configuration reloaded');
  }

  /** Addresses the HTTP API is bound to (with the real port when 0 was asked for). */
  httpAddresses(): BoundAddress[] {
    return this.httpServers.map((s) => {
      const a = s.address() as AddressInfo;
      return { address: a.address, port: a.port };
    });
  }

  /** Closes every interface; safe to call more than once. `leave` first leaves the cluster gracefully. */
  async shutdown(opts: { leave?: boolean } = {}): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    this.clock.clearTimeout(this.joinTimer);
    this.clock.clearTimeout(this.peersTimer);
    this.clock.clearInterval(this.serverSync);
    this.antiEntropy?.stop();
    this.ttl?.stop();
    this.pool.close();
    await this.health?.stop();
    await this.watches?.stop();
    if (opts.leave && wasRunning && this.server?.isLeader && this.server.raft.conf.voters.length > 1) {
      await this.server.transferLeader().then(
        (to) => this.log.info(`handed Raft leadership to ${to} before leaving`),
        (e: Error) => this.log.warn(`leadership transfer before leave failed: ${e.message}`),
      );
    }
    if (opts.leave && wasRunning && this.gossip) {
      this.log.info('leaving the cluster');
      await this.gossip.leave(LEAVE_TIMEOUT_MS).then(
        () => this.savePeersNow(true),
        (e: Error) => this.log.warn(`leave failed: ${e.message}`),
      );
      await new Promise<void>((r) => this.clock.setTimeout(r, LEAVE_PROPAGATE_MS));
    }
    this.opts.logHub?.closeAll();
    await Promise.all(this.httpServers.map((s) => this.drain(s)));
    await Promise.all(this.dnsServers.map((d) => d.stop().catch(() => undefined)));
    this.httpServers.length = 0;
    await this.gossip?.shutdown();
    this.rpcServer?.close();
    await this.server?.stop().catch((e: Error) => this.log.warn(`server stop: ${e.message}`));
    await this.mux?.close();
    this.rpcClient.close();
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
    return fmtAddr(this.config.advertiseAddr, this.serverPort || this.config.ports.server);
  }

  /** Consul's Serf tags, so tools that read member tags see what they expect. */
  private serfTags(): Record<string, string> {
    const c = this.config;
    const tags: Record<string, string> = {
      role: c.server ? 'consul' : 'node',
      dc: c.datacenter,
      id: this.nodeId,
      vsn: '2',
      vsn_min: '2',
      vsn_max: '3',
      build: `${VERSION}:herald`,
    };
    if (c.server) {
      tags['port'] = String(this.serverPort || c.ports.server);
      tags['raft_vsn'] = '3';
      if (c.bootstrap) tags['bootstrap'] = '1';
      if (c.bootstrapExpect > 0) tags['expect'] = String(c.bootstrapExpect);
    }
    return tags;
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

/** A gossip member that is a server of `dc`, as the server role sees it; undefined for other members. */
export function serverInfo(m: MemberInfo, dc: string): ServerInfo | undefined {
  const t = m.tags;
  if (t['role'] !== 'consul' || t['dc'] !== dc || !t['id'] || !t['port']) return undefined;
  return {
    id: t['id'],
    name: m.name,
    address: fmtAddr(m.addr, Number(t['port'])),
    status: m.status === 'suspect' ? 'alive' : (m.status as ServerInfo['status']),
    expect: Number(t['expect'] ?? 0) || 0,
  };
}

/** "ip:port", with brackets for IPv6. */
export function fmtAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
