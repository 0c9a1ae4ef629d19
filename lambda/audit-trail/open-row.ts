/**
 * Reading a history row back (ops history): its diff as a list of field changes, each value
 * either in clear, or sealed (shown as such), or opened with the data key when the caller can
 * decrypt it. Data keys are opened once per distinct encrypted key.
 */
import { decryptValue, type DataKeyOpener } from './envelope';
import type { HistoryRow } from './history-row';
import { placeAad, type StoredValue } from './sensitive';
import { decodeValue } from './values';

/** A value as ops shows it. */
export type ShownValue =
  | { readonly value: unknown }
  | { readonly encrypted: true }
  | { readonly hmac: string }
  | { readonly omitted: { readonly bytes: number; readonly sha256?: string } };

export interface FieldChange {
  readonly field: string;
  readonly change: 'added' | 'removed' | 'changed';
  readonly old?: ShownValue;
  readonly new?: ShownValue;
}

/** Opens the data keys of rows, one KMS (or key file) call per distinct key. */
export class RowOpener {
  private readonly keys = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly opener: DataKeyOpener) {}

  dataKey(row: HistoryRow): Promise<Uint8Array> {
    const dk = row.data_key;
    if (!dk) throw new Error(`history row ${row.SK} has no data key`);
    const id = `${dk.key_id}\n${Buffer.from(dk.encrypted).toString('base64')}`;
    let key = this.keys.get(id);
    if (!key) {
      key = this.opener.decryptDataKey(dk.encrypted, dk.key_id);
      key.catch(() => this.keys.delete(id));
      this.keys.set(id, key);
    }
    return key;
  }
}

/** The row's field changes, sorted by field; with `opener`, encrypted values are decrypted. */
export async function openHistoryRow(row: HistoryRow, opener?: RowOpener): Promise<FieldChange[]> {
  const key = opener && row.data_key ? await opener.dataKey(row) : undefined;
  const show = (stored: StoredValue, field: string, side: string): ShownValue => {
    if ('v' in stored) return { value: stored.v };
    if ('hmac' in stored) return { hmac: stored.hmac };
    if ('omitted' in stored) return { omitted: stored.omitted };
    if (!key) return { encrypted: true };
    return { value: decodeValue(decryptValue(key, stored.enc, placeAad({ pk: row.PK, sk: row.SK, field, side }))) };
  };
  const changes: FieldChange[] = [
    ...Object.entries(row.diff.added ?? {}).map(([field, v]) => ({ field, change: 'added' as const, new: show(v, field, 'added') })),
    ...Object.entries(row.diff.removed ?? {}).map(([field, v]) => ({ field, change: 'removed' as const, old: show(v, field, 'removed') })),
    ...Object.entries(row.diff.changed ?? {}).map(([field, c]) => ({ field, change: 'changed' as const, old: show(c.old, field, 'old'), new: show(c.new, field, 'new') })),
  ];
  return changes.sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
}
