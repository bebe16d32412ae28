import { expect } from 'chai';
import { decodeKey, generateKey, Keyring, SEAL_OVERHEAD } from '../../../agent/swim/keyring.js';

describe('swim keyring', () => {
  it('generates 32-byte base64 keys and rejects anything else', () => {
    const k = generateKey();
    expect(Buffer.from(k, 'base64').length).to.equal(32);
    expect(generateKey()).to.not.equal(k);
    expect(() => decodeKey(Buffer.alloc(16).toString('base64'))).to.throw(/keyring: key must be 32 bytes/);
    expect(() => decodeKey('not base64!')).to.throw(/keyring:/);
    expect(() => new Keyring([])).to.throw(/keyring:/);
  });

  it('seals with the primary key, opens with any installed key, and authenticates', () => {
    const [k1, k2] = [generateKey(), generateKey()];
    const a = new Keyring([k1]);
    const plain = new TextEncoder().encode('hello gossip');
    const sealed = a.encrypt(plain);
    expect(sealed.length).to.equal(plain.length + SEAL_OVERHEAD);
    expect(Buffer.from(a.decrypt(sealed)!).toString()).to.equal('hello gossip');
    // Nonces are random: equal plaintexts give different ciphertexts.
    expect(Buffer.from(a.encrypt(plain)).equals(Buffer.from(sealed))).to.equal(false);
    const b = new Keyring([k2]);
    expect(b.decrypt(sealed)).to.equal(undefined);
    b.install(k1);
    expect(Buffer.from(b.decrypt(sealed)!).toString()).to.equal('hello gossip');
    for (const i of [0, 5, sealed.length - 1]) {
      const t = Uint8Array.from(sealed);
      t[i]! ^= 1;
      expect(a.decrypt(t), `flipped byte ${i}`).to.equal(undefined);
    }
    expect(a.decrypt(new Uint8Array(10))).to.equal(undefined);
  });

  it('rotates: install, use, remove; the primary cannot be removed', () => {
    const [k1, k2] = [generateKey(), generateKey()];
    const r = new Keyring([k1]);
    r.install(k2);
    expect(r.list()).to.deep.equal({ keys: [k1, k2], primary: k1 });
    expect(() => r.remove(k1)).to.throw(/keyring: cannot remove the primary/);
    r.use(k2);
    const old = new Keyring([k1]);
    expect(old.decrypt(r.encrypt(new Uint8Array([1])))).to.equal(undefined);
    r.remove(k1);
    expect(r.list()).to.deep.equal({ keys: [k2], primary: k2 });
    expect(r.decrypt(old.encrypt(new Uint8Array([1])))).to.equal(undefined);
    expect(() => r.use(k1)).to.throw(/keyring: key is not installed/);
  });
});
