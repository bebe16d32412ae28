import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Gossip encryption keyring (memberlist/Serf style). Every UDP datagram and TCP frame is
 * sealed with AES-256-GCM under the primary key; opening tries every installed key, so a
 * key can be rotated without downtime: install the new key everywhere, make it primary
 * everywhere, then remove the old one.
 *
 * Sealed format: `[1 version byte][12-byte random nonce][ciphertext][16-byte GCM tag]`; the
 * version byte is authenticated as associated data.
 */
export const KEY_BYTES = 32;
const SEAL_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes a sealed message adds to its plaintext. */
export const SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

export class KeyringError extends Error {
  override name = 'KeyringError';
  constructor(message: string) {
    super(message.startsWith('keyring:') ? message : `keyring: ${message}`);
  }
}

/** A new random key, base64 (what `herald keygen` prints). */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** Decodes a base64 key; throws KeyringError unless it is exactly 32 bytes. */
export function decodeKey(key: string): Buffer {
  if (typeof key !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(key.trim())) throw new KeyringError('keyring: key is not base64');
  const raw = Buffer.from(key.trim(), 'base64');
  if (raw.length !== KEY_BYTES) throw new KeyringError(`keyring: key must be ${KEY_BYTES} bytes, got ${raw.length}`);
  return raw;
}

export interface KeyringListing {
  /** Installed keys, base64, primary first. */
  keys: string[];
  primary: string;
}

export class Keyring {
  /** Installed keys, base64 → raw; the primary is also kept first for decryption order. */
  private readonly keys = new Map<string, Buffer>();
  private primary: string;

  /** @param keys base64 keys; the first one is primary unless `primary` says otherwise. */
  constructor(keys: string[], primary?: string) {
    if (keys.length === 0) throw new KeyringError('keyring: at least one key is required');
    for (const k of keys) this.keys.set(canonical(k), decodeKey(k));
    this.primary = canonical(primary ?? (keys[0] as string));
    if (!this.keys.has(this.primary)) this.keys.set(this.primary, decodeKey(this.primary));
  }

  /** Adds a key used for decryption. Installing a present key is a no-op. */
  install(key: string): void {
    const c = canonical(key);
    if (!this.keys.has(c)) this.keys.set(c, decodeKey(key));
  }

  /** Makes an installed key the primary (the one used to encrypt). */
  use(key: string): void {
    const c = canonical(key);
    if (!this.keys.has(c)) throw new KeyringError('keyring: key is not installed');
    this.primary = c;
  }

  /** Removes a key; the primary cannot be removed. */
  remove(key: string): void {
    const c = canonical(key);
    if (c === this.primary) throw new KeyringError('keyring: cannot remove the primary key');
    this.keys.delete(c);
  }

  list(): KeyringListing {
    return { keys: [this.primary, ...[...this.keys.keys()].filter((k) => k !== this.primary)], primary: this.primary };
  }

  /** Seals `plain` with the primary key. */
  encrypt(plain: Uint8Array): Uint8Array {
    const key = this.keys.get(this.primary) as Buffer;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from([SEAL_VERSION]));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const out = Buffer.allocUnsafe(SEAL_OVERHEAD + body.length);
    out[0] = SEAL_VERSION;
    nonce.copy(out, 1);
    body.copy(out, 1 + NONCE_BYTES);
    cipher.getAuthTag().copy(out, 1 + NONCE_BYTES + body.length);
    return out;
  }

  /** Opens a sealed message with whichever installed key authenticates it; undefined if none does. */
  decrypt(sealed: Uint8Array): Uint8Array | undefined {
    if (sealed.length < SEAL_OVERHEAD || sealed[0] !== SEAL_VERSION) return undefined;
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const body = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const order = [this.primary, ...[...this.keys.keys()].filter((k) => k !== this.primary)];
    for (const k of order) {
      try {
        const d = createDecipheriv('aes-256-gcm', this.keys.get(k) as Buffer, nonce);
        d.setAAD(Buffer.from([SEAL_VERSION]));
        d.setAuthTag(tag);
        return Buffer.concat([d.update(body), d.final()]);
      } catch {
        // Authentication failed under this key; try the next.
      }
    }
    return undefined;
  }
}

function canonical(key: string): string {
  return decodeKey(key).toString('base64');
}
