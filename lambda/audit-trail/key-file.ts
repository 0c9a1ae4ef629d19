/**
 * The local stand-in for KMS and the hash secret (tests, `npm start`, `ops history --key-file`):
 * a JSON file with a key id, a 32-byte master key and a 32-byte hash key (base64), created
 * with mode 0600. Data keys are wrapped with AES-256-GCM under the master key, the way KMS
 * wraps them under a KMS key, so the rows it produces have the same shape as in AWS.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { decryptValue, encryptValue, type DataKeyOpener, type DataKeySource } from './envelope';
import type { HashKeySource } from './sensitive';

export interface KeyFile {
  /** `local:<name>`: never a KMS key ARN, so a row says which kind of key sealed it. */
  readonly keyId: string;
  readonly masterKey: string;
  readonly hashKey: string;
}

const WRAP_AAD = 'audit-trail data key';

/** Creates the key file unless it exists; returns its content. */
export function ensureKeyFile(path: string, keyId = 'local:audit-trail'): KeyFile {
  if (existsSync(path)) return readKeyFile(path);
  const file: KeyFile = { keyId, masterKey: randomBytes(32).toString('base64'), hashKey: randomBytes(32).toString('base64') };
  writeFileSync(path, `${JSON.stringify(file)}\n`, { mode: 0o600, flag: 'wx' });
  return file;
}

export function readKeyFile(path: string): KeyFile {
  const file = JSON.parse(readFileSync(path, 'utf8')) as Partial<KeyFile>;
  const ok = (b64: unknown) => typeof b64 === 'string' && Buffer.from(b64, 'base64').length === 32;
  if (typeof file.keyId !== 'string' || !file.keyId.startsWith('local:') || !ok(file.masterKey) || !ok(file.hashKey)) {
    throw new Error(`${path} is not an audit-trail key file (keyId "local:...", masterKey and hashKey of 32 bytes, base64)`);
  }
  return file as KeyFile;
}

export function keyFileDataKeys(file: KeyFile): DataKeySource & DataKeyOpener {
  const master = Buffer.from(file.masterKey, 'base64');
  return {
    generateDataKey: async () => {
      const plaintext = randomBytes(32);
      const encrypted = Buffer.from(encryptValue(master, plaintext.toString('base64'), WRAP_AAD), 'utf8');
      return { plaintext: new Uint8Array(plaintext), encrypted: new Uint8Array(encrypted), keyId: file.keyId };
    },
    decryptDataKey: async (encrypted, keyId) => {
      if (keyId !== file.keyId) throw new Error(`the data key was sealed by ${keyId}, not by this key file (${file.keyId})`);
      return new Uint8Array(Buffer.from(decryptValue(master, Buffer.from(encrypted).toString('utf8'), WRAP_AAD), 'base64'));
    },
  };
}

export function keyFileHashKey(file: KeyFile): HashKeySource {
  return { hashKey: async () => new Uint8Array(Buffer.from(file.hashKey, 'base64')) };
}
