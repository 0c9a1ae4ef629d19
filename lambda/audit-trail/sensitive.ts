/**
 * How a sensitive value is stored: never in clear. Two modes:
 * - `encrypt` (default): AES-256-GCM under a cached data key (envelope.ts); the row carries the
 *   encrypted data key and the master key's id; `ops history --decrypt` opens it.
 * - `hash`: only HMAC-SHA256(hash key, field name + value), hex. Nobody can read the value
 *   back; two rows can still be compared (same field, same value, same digest). The hash key
 *   is a secret read once per container (Secrets Manager; locally the key file). Rotating it
 *   makes later digests incomparable with earlier ones.
 */
import { createHmac } from 'node:crypto';
import { DataKeyCache, encryptValue, type DataKeyCacheLimits, type DataKeySource } from './envelope';
import { encodeValue } from './values';

export type SensitiveMode = 'encrypt' | 'hash';
export const SENSITIVE_MODES: readonly SensitiveMode[] = ['encrypt', 'hash'];

/** What the history row stores for one value. */
export type StoredValue =
  | { readonly v: unknown }
  | { readonly enc: string }
  | { readonly hmac: string }
  /** Left out to keep the row under DynamoDB's item size limit: its size, and its digest unless it is sensitive. */
  | { readonly omitted: { readonly bytes: number; readonly sha256?: string } };

/** Where a value sits: binds a ciphertext to its row and field. */
export interface Place {
  readonly pk: string;
  readonly sk: string;
  readonly field: string;
  /** `added`, `removed`, `old` or `new`. */
  readonly side: string;
}

export const placeAad = (p: Place): string => `${p.pk}\n${p.sk}\n${p.field}\n${p.side}`;

/** Seals the sensitive values of one row. */
export interface RowSealer {
  seal(value: unknown, place: Place): StoredValue;
  /** Row attributes the sealed values need (the encrypted data key). */
  readonly attributes: Record<string, unknown>;
}

export interface SensitiveProtection {
  readonly mode: SensitiveMode;
  /** Prepares one row; may fetch a key (one call per container for a while, see DataKeyCache). */
  forRow(): Promise<RowSealer>;
}

/** The secret of hash mode. */
export interface HashKeySource {
  hashKey(): Promise<Uint8Array>;
}

export function encryptProtection(source: DataKeySource, limits?: DataKeyCacheLimits, now?: () => number): SensitiveProtection & { readonly cache: DataKeyCache } {
  const cache = new DataKeyCache(source, limits, now);
  return {
    mode: 'encrypt',
    cache,
    forRow: async () => {
      const key = await cache.forRow();
      return {
        seal: (value, place) => ({ enc: encryptValue(key.plaintext, encodeValue(value), placeAad(place)) }),
        attributes: { data_key: { key_id: key.keyId, encrypted: key.encrypted } },
      };
    },
  };
}

/** HMAC-SHA256 of the field name and the value's canonical form. */
export const keyedHash = (key: Uint8Array, field: string, value: unknown): string =>
  createHmac('sha256', key).update(`${field}\n${encodeValue(value)}`, 'utf8').digest('hex');

export function hashProtection(source: HashKeySource): SensitiveProtection {
  let key: Promise<Uint8Array> | undefined;
  return {
    mode: 'hash',
    forRow: async () => {
      key ??= source.hashKey().catch((error: unknown) => {
        key = undefined; // the next row tries again
        throw error;
      });
      const k = await key;
      return { seal: (value, place) => ({ hmac: keyedHash(k, place.field, value) }), attributes: {} };
    },
  };
}
