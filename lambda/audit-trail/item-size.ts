/**
 * An upper bound of an item's size as DynamoDB counts it against its 400 KB limit: names and
 * strings in UTF-8 bytes, binary in bytes, a number at most 21 bytes, null and booleans 1 byte,
 * a list or map 3 bytes plus 1 per element (DynamoDB developer guide, "Item sizes and formats").
 */
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';

/** DynamoDB's item size limit. */
export const MAX_ITEM_BYTES = 400 * 1024;
const NUMBER_BYTES = 21;

export function valueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'bigint' || value instanceof NumberValue) return NUMBER_BYTES;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + valueSize(v), 0);
  if (typeof value === 'object') {
    let n = 3;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) n += 1 + Buffer.byteLength(k, 'utf8') + valueSize(v);
    return n;
  }
  return 0;
}

/** The item's size: each attribute's name and value. */
export function itemSize(item: Record<string, unknown>): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) if (v !== undefined) n += Buffer.byteLength(k, 'utf8') + valueSize(v);
  return n;
}
