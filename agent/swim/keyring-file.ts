import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Keyring, KeyringError } from './keyring.js';

/**
 * The keyring kept in `<data_dir>/serf/local.keyring`, Consul's format: a JSON array of
 * base64 keys, primary first. A keyring on disk wins over the `encrypt` setting (as in
 * Consul), so a rotation survives restarts.
 */
export function loadKeyring(file: string | undefined, encrypt: string | undefined): { keyring: Keyring | undefined; source: 'file' | 'config' | 'none' } {
  if (file) {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== undefined) {
      let keys: unknown;
      try {
        keys = JSON.parse(text);
      } catch {
        throw new KeyringError(`keyring: ${file} is not valid JSON`);
      }
      if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) {
        throw new KeyringError(`keyring: ${file} must hold a non-empty JSON array of base64 keys`);
      }
      return { keyring: new Keyring(keys as string[]), source: 'file' };
    }
  }
  if (!encrypt) return { keyring: undefined, source: 'none' };
  const keyring = new Keyring([encrypt]);
  if (file) saveKeyring(file, keyring);
  return { keyring, source: 'config' };
}

/** Writes the keyring durably (temp file, fsync, rename). */
export function saveKeyring(file: string, keyring: Keyring): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(keyring.list().keys), { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
