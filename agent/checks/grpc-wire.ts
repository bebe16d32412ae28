/**
 * The few bytes of gRPC and protobuf that the standard health protocol
 * (`grpc.health.v1.Health/Check`) needs, so no gRPC library is required.
 *
 * - gRPC message framing: 1 byte compressed flag, 4 bytes big-endian length, message.
 * - HealthCheckRequest  { string service = 1; }
 * - HealthCheckResponse { ServingStatus status = 1; }  UNKNOWN 0, SERVING 1, NOT_SERVING 2,
 *   SERVICE_UNKNOWN 3 (the last one is used by the Watch method only).
 */
import { ChecksError } from './errors.js';

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

export const SERVING_STATUS_NAMES: Record<number, string> = {
  0: 'UNKNOWN',
  1: 'SERVING',
  2: 'NOT_SERVING',
  3: 'SERVICE_UNKNOWN',
};

/** gRPC status code names as grpc-go prints them. */
export const GRPC_CODE_NAMES: Record<number, string> = {
  0: 'OK',
  1: 'Canceled',
  2: 'Unknown',
  3: 'InvalidArgument',
  4: 'DeadlineExceeded',
  5: 'NotFound',
  6: 'AlreadyExists',
  7: 'PermissionDenied',
  8: 'ResourceExhausted',
  9: 'FailedPrecondition',
  10: 'Aborted',
  11: 'OutOfRange',
  12: 'Unimplemented',
  13: 'Internal',
  14: 'Unavailable',
  15: 'DataLoss',
  16: 'Unauthenticated',
};

export class GrpcWireError extends ChecksError {
  override name = 'GrpcWireError';
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** Reads a varint at `pos`; returns [value, next position]. */
function readVarint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new GrpcWireError('checks: grpc: truncated varint');
    const b = buf[pos++] as number;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, pos];
    mul *= 0x80;
  }
  throw new GrpcWireError('checks: grpc: varint too long');
}

/** Iterates the fields of a protobuf message: [field number, wire type, value or bytes]. */
function* fields(buf: Buffer): Generator<[number, number, number | Buffer]> {
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    pos = p1;
    switch (wire) {
      case 0: {
        const [v, p2] = readVarint(buf, pos);
        pos = p2;
        yield [field, wire, v];
        break;
      }
      case 1:
      case 5: {
        const len = wire === 1 ? 8 : 4;
        if (pos + len > buf.length) throw new GrpcWireError('checks: grpc: truncated fixed-size field');
        yield [field, wire, buf.subarray(pos, pos + len)];
        pos += len;
        break;
      }
      case 2: {
        const [len, p2] = readVarint(buf, pos);
        if (p2 + len > buf.length) throw new GrpcWireError('checks: grpc: truncated length-delimited field');
        yield [field, wire, buf.subarray(p2, p2 + len)];
        pos = p2 + len;
        break;
      }
      default:
        throw new GrpcWireError(`checks: grpc: unsupported protobuf wire type ${wire}`);
    }
  }
}

export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const s = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
}

export function decodeHealthCheckRequest(buf: Buffer): { service: string } {
  let service = '';
  for (const [f, w, v] of fields(buf)) if (f === 1 && w === 2) service = (v as Buffer).toString('utf8');
  return { service };
}

export function encodeHealthCheckResponse(status: number): Buffer {
  if (status === 0) return Buffer.alloc(0);
  return Buffer.concat([Buffer.from([0x08]), varint(status)]);
}

/** The status enum value (0 UNKNOWN when absent); unknown fields are skipped. */
export function decodeHealthCheckResponse(buf: Buffer): { status: number } {
  let status = 0;
  for (const [f, w, v] of fields(buf)) if (f === 1 && w === 0) status = v as number;
  return { status };
}

/** Wraps one message in gRPC's length-prefixed framing (uncompressed). */
export function frameMessage(msg: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** Splits a received byte stream into gRPC messages. */
export function unframeMessages(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (pos + 5 > data.length) throw new GrpcWireError('checks: grpc: truncated message header');
    const compressed = data.readUInt8(pos);
    const len = data.readUInt32BE(pos + 1);
    if (compressed !== 0) throw new GrpcWireError('checks: grpc: compressed messages are not supported');
    if (pos + 5 + len > data.length) throw new GrpcWireError('checks: grpc: truncated message');
    out.push(data.subarray(pos + 5, pos + 5 + len));
    pos += 5 + len;
  }
  return out;
}
