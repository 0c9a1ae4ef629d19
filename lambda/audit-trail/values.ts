/**
 * One canonical text form of a row value (DynamoDB's own JSON shape: `{"S":..}`, `{"N":..}`,
 * `{"M":{..}}` with sorted names, binary as base64). It is what the audit trail encrypts,
 * hashes and digests, and what tells two values apart in a diff: equal values, equal text.
 * Decoding gives back the decoded-image value (exact numbers stay NumberValue).
 */
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { decodeNumber } from '../shared/decode';

type Tagged =
  | { S: string }
  | { N: string }
  | { B: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: Tagged[] }
  | { M: Record<string, Tagged> };

function tag(value: unknown): Tagged {
  if (value === null || value === undefined) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('a row value is not a finite number');
    return { N: String(value) };
  }
  if (typeof value === 'bigint') return { N: value.toString() };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value instanceof NumberValue) return { N: value.toString() };
  if (value instanceof Uint8Array) return { B: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return { L: value.map(tag) };
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return { M: Object.fromEntries(entries.map(([k, v]) => [k, tag(v)])) };
  }
  throw new Error(`a row value of type ${typeof value} has no stored form`);
}

function untag(t: Tagged): unknown {
  if ('S' in t) return t.S;
  if ('N' in t) return decodeNumber(t.N);
  if ('B' in t) return new Uint8Array(Buffer.from(t.B, 'base64'));
  if ('BOOL' in t) return t.BOOL;
  if ('NULL' in t) return null;
  if ('L' in t) return t.L.map(untag);
  return Object.fromEntries(Object.entries(t.M).map(([k, v]) => [k, untag(v)]));
}

export const encodeValue = (value: unknown): string => JSON.stringify(tag(value));
export const decodeValue = (text: string): unknown => untag(JSON.parse(text) as Tagged);

/** For display: the value as JSON, exact numbers and binary written out. */
export const displayValue = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) => (v instanceof NumberValue ? v.toString() : v instanceof Uint8Array ? `base64:${Buffer.from(v).toString('base64')}` : typeof v === 'bigint' ? v.toString() : v));
