import { expect } from 'chai';
import { createSecureServer, createServer, type Http2Server, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { grpcTimeout, probeGrpc } from '../../../agent/checks/grpc.js';
import {
  decodeHealthCheckRequest,
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  encodeHealthCheckResponse,
  frameMessage,
  unframeMessages,
} from '../../../agent/checks/grpc-wire.js';
import type { GrpcCheckSpec } from '../../../agent/checks/types.js';
import { ManualClock, SystemClock } from '../../../agent/runtime/clock.js';
import { freePort } from '../../lib/net.js';
import { base } from './helpers.js';

const SERVING = 1;
const NOT_SERVING = 2;

/**
 * A grpc.health.v1 server over node:http2: `statuses` maps service name ('' = whole server)
 * to its serving status; a name not in the map gets NOT_FOUND "unknown service", like
 * grpc-go's health server. `hang` makes it never answer.
 */
function healthHandler(statuses: Map<string, number>, seen: string[], opts: { hang: boolean }) {
  return (stream: ServerHttp2Stream, headers: Record<string, unknown>): void => {
    stream.on('error', () => {});
    if (headers[':path'] !== '/grpc.health.v1.Health/Check' || headers['content-type'] !== 'application/grpc') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unknown method' }, { endStream: true });
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const [msg] = unframeMessages(Buffer.concat(chunks));
      const { service } = decodeHealthCheckRequest(msg as Buffer);
      seen.push(service);
      if (opts.hang) return;
      const st = statuses.get(service);
      if (st === undefined) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'unknown%20service' }, { endStream: true });
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frameMessage(encodeHealthCheckResponse(st)));
    });
  };
}

async function start<S extends Http2Server | Http2SecureServer>(server: S): Promise<{ port: number; close: () => Promise<void> }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sessions = new Set<{ destroy: () => void }>();
  server.on('session', (s) => sessions.add(s));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  };
}

function spec(target: string, over: Partial<GrpcCheckSpec> = {}): GrpcCheckSpec {
  return { ...base('grpc'), kind: 'grpc', target, useTls: false, tlsSkipVerify: false, intervalMs: 10_000, ...over };
}

describe('checks: gRPC health wire format', () => {
  it('encodes and decodes HealthCheckRequest/Response as protobuf', () => {
    expect([...encodeHealthCheckRequest('web')]).to.deep.equal([0x0a, 3, 0x77, 0x65, 0x62]);
    expect([...encodeHealthCheckRequest('')]).to.deep.equal([]);
    expect(decodeHealthCheckRequest(Buffer.from([0x0a, 3, 0x77, 0x65, 0x62])).service).to.equal('web');
    expect([...encodeHealthCheckResponse(SERVING)]).to.deep.equal([0x08, 1]);
    expect(decodeHealthCheckResponse(Buffer.from([0x08, 2])).status).to.equal(NOT_SERVING);
    expect(decodeHealthCheckResponse(Buffer.alloc(0)).status).to.equal(0);
    // Unknown fields (a string field 2, a fixed32 field 3) are skipped.
    expect(decodeHealthCheckResponse(Buffer.from([0x12, 1, 0x41, 0x1d, 0, 0, 0, 0, 0x08, 1])).status).to.equal(SERVING);
    const long = 'x'.repeat(300);
    expect(decodeHealthCheckRequest(encodeHealthCheckRequest(long)).service).to.equal(long);
  });

  it('grpc-timeout has at most 8 digits', () => {
    expect(grpcTimeout(10_000)).to.equal('10000m');
    expect(grpcTimeout(0.2)).to.equal('1m');
    expect(grpcTimeout(99_999_999)).to.equal('99999999m');
    expect(grpcTimeout(200_000_000)).to.equal('200000S');
  });

  it('frames messages with a 5-byte prefix and rejects truncation', () => {
    const f = frameMessage(Buffer.from([8, 1]));
    expect([...f]).to.deep.equal([0, 0, 0, 0, 2, 8, 1]);
    expect(unframeMessages(Buffer.concat([f, f])).map((b) => [...b])).to.deep.equal([
      [8, 1],
      [8, 1],
    ]);
    expect(() => unframeMessages(f.subarray(0, 6))).to.throw(/^checks: grpc: truncated message$/);
    expect(() => unframeMessages(Buffer.from([1, 0, 0, 0, 0]))).to.throw(/compressed/);
  });
});

describe('checks: gRPC probe (real node:http2 health server on 127.0.0.1)', function () {
  this.timeout(10_000);
  const clock = new SystemClock();
  const statuses = new Map<string, number>();
  const seen: string[] = [];
  const opts = { hang: false };
  let srv: { port: number; close: () => Promise<void> };

  before(async () => {
    const server = createServer();
    server.on('stream', healthHandler(statuses, seen, opts));
    srv = await start(server);
  });
  after(async () => {
    await srv.close();
  });
  beforeEach(() => {
    statuses.clear();
    seen.length = 0;
    opts.hang = false;
  });

  it('SERVING is passing; the service name is sent in the request', async () => {
    statuses.set('my.Service', SERVING);
    const target = `127.0.0.1:${srv.port}/my.Service`;
    expect(await probeGrpc(spec(target), clock)).to.deep.equal({ status: 'passing', output: `gRPC check ${target}: success` });
    expect(seen).to.deep.equal(['my.Service']);
  });

  it('a target without a service checks the whole server (empty name)', async () => {
    statuses.set('', SERVING);
    expect((await probeGrpc(spec(`127.0.0.1:${srv.port}`), clock)).status).to.equal('passing');
    expect(seen).to.deep.equal(['']);
  });

  it('NOT_SERVING is critical, and flipping back to SERVING passes again', async () => {
    const target = `127.0.0.1:${srv.port}/db`;
    statuses.set('db', NOT_SERVING);
    expect(await probeGrpc(spec(target), clock)).to.deep.equal({ status: 'critical', output: `gRPC ${target} serving status: NOT_SERVING` });
    statuses.set('db', 0);
    expect(await probeGrpc(spec(target), clock)).to.deep.equal({ status: 'critical', output: `gRPC ${target} serving status: UNKNOWN` });
    statuses.set('db', SERVING);
    expect((await probeGrpc(spec(target), clock)).status).to.equal('passing');
  });

  it('an unknown service is critical with the grpc-status and grpc-message', async () => {
    expect(await probeGrpc(spec(`127.0.0.1:${srv.port}/nope`), clock)).to.deep.equal({
      status: 'critical',
      output: 'rpc error: code = NotFound desc = unknown service',
    });
  });

  it('no answer within the timeout is critical with DeadlineExceeded', async () => {
    opts.hang = true;
    const r = await probeGrpc(spec(`127.0.0.1:${srv.port}/x`, { timeoutMs: 200 }), clock);
    expect(r).to.deep.equal({ status: 'critical', output: 'rpc error: code = DeadlineExceeded desc = context deadline exceeded' });
  });

  it('the timeout runs on the injected clock', async () => {
    opts.hang = true;
    const manual = new ManualClock(0);
    const p = probeGrpc(spec(`127.0.0.1:${srv.port}/x`, { timeoutMs: 10_000 }), manual);
    manual.advance(10_000);
    expect((await p).output).to.equal('rpc error: code = DeadlineExceeded desc = context deadline exceeded');
  });

  it('connection refused is critical with Unavailable', async () => {
    const port = await freePort();
    const r = await probeGrpc(spec(`127.0.0.1:${port}`), clock);
    expect(r.status).to.equal('critical');
    expect(r.output).to.equal(`rpc error: code = Unavailable desc = connection error: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('a plain HTTP/2 server that is not gRPC is critical', async () => {
    const server = createServer((_q, res) => {
      res.statusCode = 404;
      res.end('not here');
    });
    const s = await start(server);
    try {
      const r = await probeGrpc(spec(`127.0.0.1:${s.port}`), clock);
      expect(r).to.deep.equal({ status: 'critical', output: 'rpc error: code = Unimplemented desc = unexpected HTTP status code received from server: 404' });
    } finally {
      await s.close();
    }
  });
});

describe('checks: gRPC probe over TLS', function () {
  this.timeout(10_000);
  const clock = new SystemClock();

  it('GRPCUseTLS with a self-signed certificate needs TLSSkipVerify', async () => {
    const statuses = new Map([['', SERVING]]);
    const server = createSecureServer({ key: readFileSync('test/fixtures/tls/localhost.key'), cert: readFileSync('test/fixtures/tls/localhost.crt') });
    server.on('stream', healthHandler(statuses, [], { hang: false }));
    const s = await start(server);
    try {
      const target = `127.0.0.1:${s.port}`;
      const strict = await probeGrpc(spec(target, { useTls: true }), clock);
      expect(strict.status).to.equal('critical');
      expect(strict.output).to.match(/^rpc error: code = Unavailable desc = connection error: .*self[- ]signed/i);
      expect(await probeGrpc(spec(target, { useTls: true, tlsSkipVerify: true }), clock)).to.deep.equal({ status: 'passing', output: `gRPC check ${target}: success` });
      // Plaintext against a TLS server fails too.
      expect((await probeGrpc(spec(target, { timeoutMs: 1000 }), clock)).status).to.equal('critical');
    } finally {
      await s.close();
    }
  });
});
