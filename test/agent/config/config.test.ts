import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig, mergeRaw } from '../../../agent/config/config.js';
import { ConfigError, validateRaw } from '../../../agent/config/schema.js';
import { parseDuration, formatDuration } from '../../../agent/config/duration.js';
import { tempDir } from '../../lib/tmp.js';

describe('config', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  describe('durations', () => {
    const table: Array<[string, number]> = [
      ['0', 0],
      ['10s', 10_000],
      ['500ms', 500],
      ['1m30s', 90_000],
      ['72h', 72 * 3_600_000],
      ['1.5s', 1500],
      ['-2s', -2000],
      ['100us', 0.1],
    ];
    for (const [input, ms] of table) {
      it(`parses "${input}" as ${ms} ms`, () => expect(parseDuration(input)).to.equal(ms));
    }
    for (const bad of ['', '10', 's', '10x', '1m30', 'ten seconds']) {
      it(`rejects "${bad}"`, () => expect(() => parseDuration(bad)).to.throw(/duration/));
    }
    it('formats like Go', () => {
      expect(formatDuration(90_000)).to.equal('1m30s');
      expect(formatDuration(72 * 3_600_000)).to.equal('72h0m0s');
      expect(formatDuration(250)).to.equal('250ms');
      expect(formatDuration(0)).to.equal('0s');
    });
  });

  describe('defaults', () => {
    it('match Consul for a client with a data dir', () => {
      const c = buildConfig({ raw: { data_dir: tmp.dir } });
      expect(c.datacenter).to.equal('dc1');
      expect(c.domain).to.equal('consul.');
      expect(c.ports).to.include({ http: 8500, dns: 8600, server: 8300, serfLan: 8301 });
      expect(c.clientAddrs).to.deep.equal(['127.0.0.1']);
      expect(c.server).to.equal(false);
      expect(c.leaveOnTerminate).to.equal(true);
      expect(c.skipLeaveOnInterrupt).to.equal(false);
      expect(c.reconnectTimeoutMs).to.equal(72 * 3_600_000);
      expect(c.dns.udpAnswerLimit).to.equal(3);
      expect(c.raftSnapshotThreshold).to.equal(8192);
      expect(c.raftTrailingLogs).to.equal(10240);
    });

    it('raft_snapshot_threshold and raft_trailing_logs are read and validated', () => {
      const c = buildConfig({ raw: { data_dir: tmp.dir, raft_snapshot_threshold: 64, raft_trailing_logs: 16 } });
      expect(c.raftSnapshotThreshold).to.equal(64);
      expect(c.raftTrailingLogs).to.equal(16);
      expect(validateRaw({ raft_snapshot_threshold: 0 }, 'x.json').join('\n')).to.match(/raft_snapshot_threshold/);
      expect(validateRaw({ raft_trailing_logs: 'many' }, 'x.json').join('\n')).to.match(/raft_trailing_logs/);
    });

    it('dev mode is a bootstrapped in-memory server on 127.0.0.1', () => {
      const c = buildConfig({ dev: true });
      expect(c).to.include({ dev: true, server: true, bootstrap: true, bindAddr: '127.0.0.1', advertiseAddr: '127.0.0.1' });
      expect(c.dataDir).to.equal(undefined);
    });

    it('dev mode takes explicit ports from flags', () => {
      const c = buildConfig({ dev: true, raw: { ports: { http: 9500, dns: 9600 } } });
      expect(c.ports.http).to.equal(9500);
      expect(c.ports.dns).to.equal(9600);
      expect(c.ports.server).to.equal(8300);
    });
  });

  describe('merge', () => {
    it('applies files in order, then flags; objects merge, retry_join accumulates', () => {
      const a = tmp.file('a.json', JSON.stringify({ datacenter: 'east', ports: { http: 1 }, retry_join: ['192.0.2.1'], data_dir: tmp.dir }));
      const b = tmp.file('b.json', JSON.stringify({ ports: { dns: 2 }, retry_join: ['192.0.2.2'], log_level: 'warn' }));
      const c = buildConfig({ configFiles: [a, b], raw: { datacenter: 'west', retry_join: ['192.0.2.3'] } });
      expect(c.datacenter).to.equal('west');
      expect(c.ports.http).to.equal(1);
      expect(c.ports.dns).to.equal(2);
      expect(c.retryJoin).to.deep.equal(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
      expect(c.logLevel).to.equal('warn');
      expect(c.sources).to.deep.equal([a, b]);
    });

    it('reads a config dir in lexical order, JSON files only', () => {
      const d = join(tmp.dir, 'conf.d');
      mkdirSync(d);
      tmp.file('conf.d/20-b.json', JSON.stringify({ node_name: 'second' }));
      tmp.file('conf.d/10-a.json', JSON.stringify({ node_name: 'first', data_dir: tmp.dir }));
      tmp.file('conf.d/README.txt', 'not config');
      const c = buildConfig({ configDirs: [d] });
      expect(c.nodeName).to.equal('second');
      expect(c.sources.map((s) => s.split('/').pop())).to.deep.equal(['10-a.json', '20-b.json']);
    });

    it('folds singular service/check into the arrays', () => {
      const f = tmp.file('s.json', JSON.stringify({ data_dir: tmp.dir, service: { name: 'web', port: 80 }, services: [{ name: 'db' }] }));
      const c = buildConfig({ configFiles: [f] });
      expect(c.services.map((s) => s['name'])).to.deep.equal(['db', 'web']);
    });

    it('mergeRaw replaces node_meta as a whole value', () => {
      expect(mergeRaw({ node_meta: { a: '1' } }, { node_meta: { b: '2' } })).to.deep.equal({ node_meta: { b: '2' } });
    });
  });

  describe('validation', () => {
    const bad = (raw: unknown): string => validateRaw(raw, 'x.json').join('\n');

    it('names unknown keys with a suggestion', () => {
      expect(bad({ datacentre: 'dc1' })).to.equal('x.json: unknown key "datacentre" (did you mean "datacenter"?)');
      expect(bad({ ports: { htp: 1 } })).to.match(/unknown key "ports.htp" \(did you mean "ports.http"\?\)/);
    });

    it('names the key and value of wrong types and ranges', () => {
      expect(bad({ ports: { http: 'abc' } })).to.equal('x.json: ports.http: expected an integer, got "abc"');
      expect(bad({ ports: { http: 70000 } })).to.match(/ports.http: expected an integer from -1 to 65535, got 70000/);
      expect(bad({ server: 'yes' })).to.match(/server: expected true or false, got "yes"/);
      expect(bad({ bind_addr: 'nowhere' })).to.match(/bind_addr: must be an IP address, got "nowhere"/);
      expect(bad({ retry_interval: '30' })).to.match(/retry_interval: invalid duration "30"/);
      expect(bad({ retry_join: ['a', 5] })).to.match(/retry_join\[1\]: expected a string, got 5/);
      expect(bad({ encrypt: 'c2hvcnQ=' })).to.match(/encrypt: must be 32 bytes encoded in base64/);
      expect(bad({ log_level: 'loud' })).to.match(/log_level: must be one of/);
      expect(bad({ dns_config: { service_ttl: { web: 'soon' } } })).to.match(/dns_config.service_ttl.web: invalid duration/);
      expect(bad([1, 2])).to.match(/top level must be a JSON object/);
    });

    it('reports malformed JSON with the file and position', () => {
      const f = tmp.file('broken.json', '{\n  "datacenter": "dc1",\n  "server": tru\n}');
      expect(() => buildConfig({ configFiles: [f] })).to.throw(ConfigError, /broken\.json: invalid JSON: .*line 3/);
    });

    it('reports a missing file', () => {
      expect(() => buildConfig({ configFiles: [join(tmp.dir, 'nope.json')] })).to.throw(ConfigError, /cannot read .*nope\.json: ENOENT/);
    });

    it('refuses HCL files in a config dir instead of ignoring them', () => {
      tmp.file('x.hcl', 'datacenter = "dc1"');
      expect(() => buildConfig({ configDirs: [tmp.dir] })).to.throw(ConfigError, /HCL is not supported/);
    });

    it('checks rules across keys', () => {
      expect(() => buildConfig({ raw: {} })).to.throw(ConfigError, /data_dir: must be set/);
      expect(() => buildConfig({ raw: { data_dir: tmp.dir, bootstrap_expect: 3 } })).to.throw(/only valid on a server/);
      expect(() => buildConfig({ raw: { data_dir: tmp.dir, server: true, bootstrap: true, bootstrap_expect: 3 } })).to.throw(
        /not both/,
      );
      expect(() => buildConfig({ raw: { data_dir: tmp.dir, ports: { http: 8301 } } })).to.throw(/ports.serf_lan: 8301 is already used by ports.http/);
    });

    it('names the flag source for bad flag values', () => {
      expect(() => buildConfig({ dev: true, raw: { datacenter: 'a b' } })).to.throw(ConfigError, /flags: datacenter: may contain only/);
    });
  });
});

describe('docs/configuration.md', () => {
  it('documents every config key', async () => {
    const { readFileSync } = await import('node:fs');
    const { SCHEMA } = await import('../../../agent/config/schema.js');
    const doc = readFileSync('docs/configuration.md', 'utf8');
    const missing: string[] = [];
    const walk = (fields: Record<string, { kind: string; fields?: Record<string, never> }>, prefix: string): void => {
      for (const [k, spec] of Object.entries(fields)) {
        if (!doc.includes(`\`${prefix}${k}\``)) missing.push(prefix + k);
        if (spec.kind === 'object' && spec.fields) walk(spec.fields, `${prefix}${k}.`);
      }
    };
    walk(SCHEMA as never, '');
    expect(missing, `undocumented keys: ${missing.join(', ')}`).to.deep.equal([]);
  });
});
