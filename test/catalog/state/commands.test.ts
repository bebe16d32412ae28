import { expect } from 'chai';
import { Packr } from 'msgpackr';
import { CommandType, decodeCommand, encodeCommand, type Command } from '../../../catalog/state/commands.js';
import { CommandDecodeError } from '../../../catalog/state/errors.js';

const packr = new Packr({ useRecords: false });

describe('catalog/state commands', () => {
  it('round-trips every command type and drops undefined members', () => {
    const cmds: Command[] = [
      { type: CommandType.Register, req: { Node: 'n1', Address: '203.0.113.1', ID: undefined, Service: { Service: 'web', Tags: ['a'], Port: 80 }, Checks: [{ CheckID: 'c', Definition: { HTTP: 'http://x' } }] } },
      { type: CommandType.Deregister, req: { Node: 'n1', ServiceID: 'web' } },
      { type: CommandType.Batch, commands: [{ type: CommandType.Deregister, req: { Node: 'n2' } }] },
    ];
    for (const c of cmds) {
      const back = decodeCommand(encodeCommand(c));
      expect(back).to.deep.equal(JSON.parse(JSON.stringify(c)));
      expect(encodeCommand(back)).to.deep.equal(encodeCommand(c));
    }
  });

  it('keeps the append-only numbering (Consul message types where they exist)', () => {
    expect(CommandType).to.deep.equal({ Register: 0, Deregister: 1, KVS: 2, Session: 3, Tombstone: 5, Txn: 8, Batch: 9, Restore: 10 });
  });

  const garbage: Array<[string, Uint8Array, RegExp]> = [
    ['empty input', new Uint8Array(), /not msgpack/],
    ['a reserved msgpack byte', new Uint8Array([0xc1]), /expected \[type, body\]/],
    ['a truncated array', new Uint8Array([0x92, 0x00]), /not msgpack/],
    ['a bare string', packr.pack('hello'), /expected \[type, body\]/],
    ['a three-element array', packr.pack([0, {}, 1]), /expected \[type, body\]/],
    ['an unknown type', packr.pack([77, {}]), /unknown command type 77/],
    ['a reserved type', packr.pack([4, {}]), /command type 4 \(reserved\) is not supported/],
    ['a KVS op that is not one of Consul\'s', packr.pack([2, { Op: 'frob', DirEnt: { Key: 'k' } }]), /KVS\.Op: expected one of set, cas/],
    ['a KV value that is not bytes', packr.pack([2, { Op: 'set', DirEnt: { Key: 'k', Value: 'x' } }]), /DirEnt\.Value: expected bytes/],
    ['a txn op without a key', packr.pack([8, { Ops: [{ KV: { Verb: 'get' } }] }]), /Ops\[0\]\.KV\.Key: expected a string/],
    ['a session without an ID', packr.pack([3, { Op: 'create', Session: {} }]), /Session\.Session\.ID: expected a string/],
    ['a body that is not an object', packr.pack([0, [1, 2]]), /Register: expected an object/],
    ['a missing Node', packr.pack([0, { Address: 'x' }]), /Register\.Node: expected a string/],
    ['a numeric Address', packr.pack([0, { Node: 'n', Address: 5 }]), /Register\.Address: expected a string/],
    ['a non-string meta value', packr.pack([0, { Node: 'n', NodeMeta: { a: 1 } }]), /NodeMeta\.a: expected a string/],
    ['a fractional port', packr.pack([0, { Node: 'n', Service: { Service: 's', Port: 1.5 } }]), /Service\.Port: expected an integer/],
    ['tags that are not strings', packr.pack([0, { Node: 'n', Service: { Service: 's', Tags: [1] } }]), /Service\.Tags: expected an array of strings/],
    ['a bad check in Checks', packr.pack([0, { Node: 'n', Checks: [{}, { Status: 3 }] }]), /Checks\[1\]\.Status: expected a string/],
    ['a nested batch', packr.pack([9, [[9, []]]]), /nested batch/],
    ['a bad command inside a batch', packr.pack([9, [[1, { Node: 'n' }], [1, {}]]]), /Batch\[1\]\.Deregister\.Node/],
  ];
  for (const [what, bytes, msg] of garbage) {
    it(`rejects ${what} with a clear CommandDecodeError`, () => {
      let err: unknown;
      try {
        decodeCommand(bytes);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(CommandDecodeError);
      expect((err as Error).message).to.match(/^catalog\/state: bad command: /).and.match(msg);
    });
  }
});
