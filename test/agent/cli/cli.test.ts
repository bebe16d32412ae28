import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { normalizeArgs } from '../../../agent/cli/argv.js';
import { runCli, createProgram } from '../../../agent/cli/program.js';
import { agentFlagsToConfig } from '../../../agent/cli/agent.js';
import { parseHttpAddr, resolveHttpAddr } from '../../../agent/cli/http-client.js';
import { buildConfig } from '../../../agent/config/config.js';
import { VERSION } from '../../../agent/version.js';
import { captureIO } from '../../lib/io.js';
import { tempDir } from '../../lib/tmp.js';
import { serveApp } from '../../lib/net.js';
import { createHttpApp } from '../../../agent/http/app.js';
import { httpDeps } from '../../lib/http-deps.js';

/** Parses `herald agent <args>` and returns the options commander produced, without running the agent. */
function parseAgentFlags(args: string[]): Record<string, unknown> {
  const io = captureIO();
  const program = createProgram(io, () => {});
  const agent = program.commands.find((c) => c.name() === 'agent')!;
  let seen: Record<string, unknown> = {};
  agent.action((flags: Record<string, unknown>) => {
    seen = flags;
  });
  program.parse(normalizeArgs(['agent', ...args]), { from: 'user' });
  return seen;
}

describe('cli', () => {
  describe('argument spelling', () => {
    it('rewrites single-dash long flags and leaves the rest', () => {
      expect(normalizeArgs(['agent', '-dev', '-bootstrap-expect=3', '-h', '-1', 'x', '--server'])).to.deep.equal([
        'agent',
        '--dev',
        '--bootstrap-expect=3',
        '-h',
        '-1',
        'x',
        '--server',
      ]);
      expect(normalizeArgs(['lock', 'p', '--', 'sh', '-c', '-exit'])).to.deep.equal(['lock', 'p', '--', 'sh', '-c', '-exit']);
    });

    it('lock: converts its own flags, stops at the prefix and hands the rest to the child', () => {
      expect(normalizeArgs(['lock', '-n', '3', '-timeout=5s', '-child-exit-code', 'svc/prefix', 'rsync', '-avz', '--delete', '-timeout', 'x']))
        .to.deep.equal(['lock', '-n', '3', '--timeout=5s', '--child-exit-code', 'svc/prefix', '--', 'rsync', '-avz', '--delete', '-timeout', 'x']);
      expect(normalizeArgs(['-http-addr', '127.0.0.1:1', 'lock', '-timeout', '5s', 'p', '--', 'cmd', '-verbose']))
        .to.deep.equal(['--http-addr', '127.0.0.1:1', 'lock', '--timeout', '5s', 'p', '--', 'cmd', '-verbose']);
      expect(normalizeArgs(['lock', 'p', 'sh', '-c', 'echo -n hi'])).to.deep.equal(['lock', 'p', '--', 'sh', '-c', 'echo -n hi']);
      // Other commands are unchanged: flags after positionals are still converted.
      expect(normalizeArgs(['kv', 'put', '-flags=3', 'k', 'v', '-http-addr=x'])).to.deep.equal(['kv', 'put', '--flags=3', 'k', 'v', '--http-addr=x']);
    });

    it('parses Consul single-dash and double-dash flags to the same config', () => {
      const single = parseAgentFlags(['-dev', '-bootstrap-expect=3', '-server', '-retry-join=a', '-retry-join', 'b', '-http-port', '9500', '-node=n1']);
      const double = parseAgentFlags(['--dev', '--bootstrap-expect', '3', '--server', '--retry-join', 'a', '--retry-join=b', '--http-port=9500', '--node', 'n1']);
      expect(single).to.deep.equal(double);
      expect(single).to.deep.include({ dev: true, bootstrapExpect: 3, server: true, httpPort: 9500, node: 'n1' });
      expect(single['retryJoin']).to.deep.equal(['a', 'b']);
    });

    it('accepts Go-style boolean values', () => {
      expect(parseAgentFlags(['-server=false'])['server']).to.equal(false);
      expect(parseAgentFlags(['-server=true'])['server']).to.equal(true);
    });

    it('maps every agent flag onto its config key', () => {
      const flags = parseAgentFlags([
        '-server', '-bootstrap-expect=3', '-node=n1', '-datacenter=east', '-data-dir=/var/herald', '-bind=192.0.2.1',
        '-advertise=192.0.2.2', '-client=127.0.0.1', '-retry-join=192.0.2.3', '-http-port=1', '-dns-port=2',
        '-server-port=3', '-serf-lan-port=4', '-log-level=warn', '-node-meta=rack:r1',
      ]);
      const c = buildConfig(agentFlagsToConfig(flags as never));
      expect(c).to.deep.include({
        server: true,
        bootstrapExpect: 3,
        nodeName: 'n1',
        datacenter: 'east',
        dataDir: '/var/herald',
        bindAddr: '192.0.2.1',
        advertiseAddr: '192.0.2.2',
        clientAddrs: ['127.0.0.1'],
        retryJoin: ['192.0.2.3'],
        logLevel: 'warn',
        nodeMeta: { rack: 'r1' },
      });
      expect(c.ports).to.include({ http: 1, dns: 2, server: 3, serfLan: 4 });
    });
  });

  describe('commands', () => {
    it('--help lists every command', async () => {
      const io = captureIO();
      expect(await runCli(['--help'], io)).to.equal(0);
      for (const cmd of ['agent', 'validate', 'version', 'info']) expect(io.out()).to.match(new RegExp(`^  ${cmd}\\b`, 'm'));
    });

    it('version and -version print the version', async () => {
      const io = captureIO();
      expect(await runCli(['version'], io)).to.equal(0);
      expect(await runCli(['-version'], io)).to.equal(0);
      expect(io.out()).to.contain(`Herald v${VERSION}`);
      const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
      expect(VERSION).to.equal(pkg.version);
    });

    it('no arguments prints usage and exits non-zero', async () => {
      const io = captureIO();
      expect(await runCli([], io)).to.equal(1);
      expect(io.err()).to.contain('Usage: herald');
    });

    it('an unknown command or flag is a clear error with a non-zero exit', async () => {
      let io = captureIO();
      expect(await runCli(['frobnicate'], io)).to.not.equal(0);
      expect(io.err()).to.match(/unknown command 'frobnicate'/);
      io = captureIO();
      expect(await runCli(['agent', '-dev', '-no-such-flag'], io)).to.not.equal(0);
      expect(io.err()).to.match(/unknown option '--no-such-flag'/);
      io = captureIO();
      expect(await runCli(['agent', '-dev', '-http-port=http'], io)).to.not.equal(0);
      expect(io.err()).to.match(/--http-port.*expected an integer, got "http"/);
    });

    describe('validate', () => {
      let tmp: ReturnType<typeof tempDir>;
      beforeEach(() => (tmp = tempDir()));
      afterEach(() => tmp.cleanup());

      it('accepts a valid file and a valid dir', async () => {
        const f = tmp.file('ok.json', JSON.stringify({ data_dir: '/tmp/x', server: true, bootstrap_expect: 3 }));
        const io = captureIO();
        expect(await runCli(['validate', f], io)).to.equal(0);
        expect(await runCli(['validate', tmp.dir], io)).to.equal(0);
        expect(io.out()).to.equal('Configuration is valid!\nConfiguration is valid!\n');
      });

      it('refuses bad keys, bad values and bad JSON with a message and exit 1', async () => {
        const cases: Array<[string, RegExp]> = [
          ['{"data_dir": "/x", "bootstrap_expectt": 3}', /unknown key "bootstrap_expectt" \(did you mean "bootstrap_expect"\?\)/],
          ['{"data_dir": "/x", "ports": {"dns": "53"}}', /ports.dns: expected an integer, got "53"/],
          ['{"data_dir": "/x",}', /invalid JSON: unexpected "}" at line 1, column 19/],
          ['', /invalid JSON: unexpected end of input/],
        ];
        for (const [text, re] of cases) {
          const io = captureIO();
          expect(await runCli(['validate', tmp.file('bad.json', text)], io), text).to.equal(1);
          expect(io.err(), text).to.match(re);
          expect(io.err()).to.match(/^Error: config: /);
        }
      });
    });

    describe('info and -http-addr', () => {
      it('reads the agent named by -http-addr, then HERALD_HTTP_ADDR', async () => {
        const made = await httpDeps({ node_name: 'info-node' }, { nodeId: '11111111-2222-3333-4444-555555555555' });
        const srv = await serveApp(createHttpApp(made.deps));
        try {
          let io = captureIO();
          expect(await runCli(['info', `-http-addr=${srv.url}`], io)).to.equal(0);
          expect(io.out()).to.contain('node_name = info-node');
          io = captureIO({ HERALD_HTTP_ADDR: srv.url.replace('http://', '') });
          expect(await runCli(['info'], io)).to.equal(0);
          expect(io.out()).to.contain('node_id = 11111111-2222-3333-4444-555555555555');
          io = captureIO();
          expect(await runCli(['info', '-http-addr=127.0.0.1:1'], io)).to.equal(1);
          expect(io.err()).to.match(/^Error: cannot reach the Herald agent at 127.0.0.1:1: ECONNREFUSED/);
        } finally {
          await srv.close();
          await made.close();
        }
      });

      it('parses host:port, URLs and rejects junk', () => {
        expect(parseHttpAddr('127.0.0.1:8501').href).to.equal('http://127.0.0.1:8501/');
        expect(parseHttpAddr('https://example.test').port).to.equal('8501');
        expect(parseHttpAddr('[::1]:9000').hostname).to.equal('[::1]');
        expect(resolveHttpAddr(undefined, {}).host).to.equal('127.0.0.1:8500');
        expect(resolveHttpAddr(undefined, { CONSUL_HTTP_ADDR: '127.0.0.2:1' }).host).to.equal('127.0.0.2:1');
        expect(() => parseHttpAddr('ftp://x')).to.throw(/unsupported scheme/);
        expect(() => parseHttpAddr('http://x:1/v1')).to.throw(/must not have a path/);
        expect(() => parseHttpAddr('http://:bad')).to.throw(/invalid address/);
      });
    });
  });
});
