/**
 * One history row from one change: what happened (insert, modify, remove, or expire when
 * DynamoDB's TTL deleted the row), the record's ids, the change time, the item's keys, and
 * the field-level diff with sensitive values sealed (sensitive.ts). Never the whole image.
 *
 * Size: the row holds the diff only. An insert of a 400 KB item, or a modify that replaces
 * large values (old and new), can still exceed DynamoDB's 400 KB item limit; then the largest
 * values are left out, largest first, each replaced by its size and SHA-256 digest (sensitive
 * values: size only), until the row fits. `omitted` counts them. Nothing goes elsewhere.
 */
import { createHash } from 'node:crypto';
import type { StreamChange } from '../shared/decode';
import type { RowKind } from '../shared/row-kinds';
import { fieldDiff } from './diff';
import { changeTimeMicros, historyPartitionKey, historySortKey, type ChangeSource } from './history-table';
import { itemSize, MAX_ITEM_BYTES, valueSize } from './item-size';
import type { RowSealer, SensitiveMode, SensitiveProtection, StoredValue } from './sensitive';
import { encodeValue } from './values';

export type HistoryEvent = 'insert' | 'modify' | 'remove' | 'expire';

export interface StoredDiff {
  readonly added: Record<string, StoredValue>;
  readonly removed: Record<string, StoredValue>;
  readonly changed: Record<string, { readonly old: StoredValue; readonly new: StoredValue }>;
}

export interface HistoryRow {
  readonly PK: string;
  readonly SK: string;
  readonly item_pk: string;
  readonly item_sk: string;
  readonly row_kind: string;
  readonly event: HistoryEvent;
  readonly event_id: string;
  readonly sequence_number: string;
  /** ISO 8601 (milliseconds); change_time_us is exact. */
  readonly change_time: string;
  readonly change_time_us: number;
  readonly diff: StoredDiff;
  /** Present when the diff holds sealed values. */
  readonly sensitive?: SensitiveMode;
  /** Encrypt mode: the data key under the master key, and the master key's id. */
  readonly data_key?: { readonly key_id: string; readonly encrypted: Uint8Array };
  /** Values left out to fit the item size limit. */
  readonly omitted?: number;
  /** TTL (epoch seconds): the change time plus the retention. */
  readonly expires_at: number;
}

export interface HistoryRowOptions {
  readonly source: ChangeSource;
  readonly retentionDays: number;
  readonly protection: SensitiveProtection;
  /** Default: DynamoDB's 400 KB less 1 KB of margin. */
  readonly maxBytes?: number;
}

const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';

/** A REMOVE made by DynamoDB's TTL (userIdentity Service / dynamodb.amazonaws.com) is an expiry. */
export function historyEvent(change: StreamChange): HistoryEvent {
  if (change.eventName === 'INSERT') return 'insert';
  if (change.eventName === 'MODIFY') return 'modify';
  const u = change.userIdentity;
  return u?.type === 'Service' && u.principalId === TTL_PRINCIPAL ? 'expire' : 'remove';
}

export async function buildHistoryRow(change: StreamChange, kind: RowKind, options: HistoryRowOptions): Promise<HistoryRow> {
  const micros = changeTimeMicros(change);
  const PK = historyPartitionKey(change.keys);
  const SK = historySortKey(change, options.source);
  const diff = fieldDiff(change.oldImage, change.newImage);
  const sensitive = new Set(kind.sensitive);
  const touched = [...Object.keys(diff.added), ...Object.keys(diff.removed), ...Object.keys(diff.changed)];
  // Only rows with a sensitive value ask for a key (no KMS call for images, ICAO rows, links).
  const sealer: RowSealer | undefined = touched.some((f) => sensitive.has(f)) ? await options.protection.forRow() : undefined;
  const store = (field: string, side: string, value: unknown): StoredValue =>
    sealer && sensitive.has(field) ? sealer.seal(value, { pk: PK, sk: SK, field, side }) : { v: value };
  const stored: StoredDiff = {
    added: Object.fromEntries(Object.entries(diff.added).map(([f, v]) => [f, store(f, 'added', v)])),
    removed: Object.fromEntries(Object.entries(diff.removed).map(([f, v]) => [f, store(f, 'removed', v)])),
    changed: Object.fromEntries(Object.entries(diff.changed).map(([f, c]) => [f, { old: store(f, 'old', c.old), new: store(f, 'new', c.new) }])),
  };
  const row: HistoryRow = {
    PK,
    SK,
    item_pk: change.keys.PK,
    item_sk: change.keys.SK,
    row_kind: kind.name,
    event: historyEvent(change),
    event_id: change.eventID,
    sequence_number: change.sequenceNumber,
    change_time: new Date(Math.floor(micros / 1000)).toISOString(),
    change_time_us: micros,
    diff: stored,
    ...(sealer && { sensitive: options.protection.mode, ...sealer.attributes }),
    expires_at: Math.floor(micros / 1e6) + options.retentionDays * 86_400,
  };
  return fitToSize(row, sensitive, options.maxBytes ?? MAX_ITEM_BYTES - 1024);
}

interface Slot {
  readonly size: number;
  readonly field: string;
  replace(): void;
}

/** Leaves out the largest values until the row fits (see the file comment). */
export function fitToSize(row: HistoryRow, sensitive: ReadonlySet<string>, maxBytes: number): HistoryRow {
  let size = itemSize(row as unknown as Record<string, unknown>);
  if (size <= maxBytes) return row;
  const diff: StoredDiff = { added: { ...row.diff.added }, removed: { ...row.diff.removed }, changed: { ...row.diff.changed } };
  const slots: Slot[] = [];
  const omit = (field: string, value: StoredValue): StoredValue => {
    const bytes = 'v' in value ? valueSize(value.v) : valueSize(value);
    const sha256 = 'v' in value && !sensitive.has(field) ? createHash('sha256').update(encodeValue(value.v), 'utf8').digest('hex') : undefined;
    return { omitted: { bytes, ...(sha256 && { sha256 }) } };
  };
  for (const side of ['added', 'removed'] as const) {
    for (const [field, value] of Object.entries(diff[side])) {
      slots.push({ size: valueSize(value), field, replace: () => (diff[side][field] = omit(field, value)) });
    }
  }
  for (const [field, pair] of Object.entries(diff.changed)) {
    for (const which of ['old', 'new'] as const) {
      slots.push({ size: valueSize(pair[which]), field, replace: () => (diff.changed[field] = { ...diff.changed[field]!, [which]: omit(field, pair[which]) }) });
    }
  }
  // Largest first; ties by field name, so every delivery of a record builds the same row.
  slots.sort((a, b) => b.size - a.size || (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  let omitted = 0;
  for (const slot of slots) {
    if (size <= maxBytes) break;
    slot.replace();
    omitted += 1;
    size = itemSize({ ...row, diff, omitted } as unknown as Record<string, unknown>);
  }
  if (size > maxBytes) throw new Error(`history row is ${size} bytes with every value left out (limit ${maxBytes})`);
  return { ...row, diff, omitted };
}
