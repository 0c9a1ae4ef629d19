/**
 * Envelope encryption of sensitive values: AES-256-GCM (node:crypto) under a data key that a
 * key service generates (KMS GenerateDataKey; locally a key file). A history row stores the
 * data key encrypted under the master key, never in clear; each value has its own random
 * 12-byte IV and is bound to its row and place (additional authenticated data), so a
 * ciphertext copied to another row or field does not decrypt.
 *
 * The function only generates keys (it may encrypt, not decrypt); `ops history --decrypt`
 * opens them, which needs the master key's decrypt permission.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface DataKey {
  /** 32 bytes; kept in memory only. */
  readonly plaintext: Uint8Array;
  /** The data key under the master key (KMS CiphertextBlob), stored with the row. */
  readonly encrypted: Uint8Array;
  /** The master key's id (KMS key ARN, or `local:...` for a key file). */
  readonly keyId: string;
}

/** The encrypting side: a fresh data key. */
export interface DataKeySource {
  generateDataKey(): Promise<DataKey>;
}

/** The decrypting side (ops only): the plaintext of a stored data key. */
export interface DataKeyOpener {
  decryptDataKey(encrypted: Uint8Array, keyId: string): Promise<Uint8Array>;
}

/**
 * Every data key of the trail is made and opened with this KMS encryption context: the
 * function's grant is conditioned on it, and CloudTrail names the purpose of each call.
 */
export const ENCRYPTION_CONTEXT: Readonly<Record<string, string>> = { purpose: 'ddb-stream-fanout/audit-trail' };

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** base64(iv || ciphertext || tag). */
export function encryptValue(key: Uint8Array, plaintext: string, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
}

/** Throws when the ciphertext, the key or the place (aad) is not the one it was made with. */
export function decryptValue(key: Uint8Array, sealed: string, aad: string): string {
  const bytes = Buffer.from(sealed, 'base64');
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted value is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
}

export interface DataKeyCacheLimits {
  /** A data key is used for at most this long. Default 5 minutes. */
  readonly maxAgeMs: number;
  /** ...and for at most this many rows. Default 10,000 (far below AES-GCM's random-IV bound). */
  readonly maxRows: number;
}

export const DEFAULT_DATA_KEY_LIMITS: DataKeyCacheLimits = { maxAgeMs: 5 * 60_000, maxRows: 10_000 };

/**
 * One data key per container, replaced when too old or used for too many rows: one
 * GenerateDataKey call per container every few minutes, not one per row.
 */
export class DataKeyCache {
  private current?: { key: DataKey; since: number; rows: number };
  private pending?: Promise<DataKey>;
  /** Keys generated so far (the benchmark and tests read it). */
  generated = 0;

  constructor(
    private readonly source: DataKeySource,
    private readonly limits: DataKeyCacheLimits = DEFAULT_DATA_KEY_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The data key for one more row. */
  async forRow(): Promise<DataKey> {
    const c = this.current;
    if (c && this.now() - c.since < this.limits.maxAgeMs && c.rows < this.limits.maxRows) {
      c.rows += 1;
      return c.key;
    }
    // One request for concurrent callers.
    this.pending ??= this.source.generateDataKey().finally(() => (this.pending = undefined));
    const key = await this.pending;
    if (this.current?.key !== key) {
      this.generated += 1;
      this.current = { key, since: this.now(), rows: 0 };
    }
    this.current.rows += 1;
    return key;
  }
}
