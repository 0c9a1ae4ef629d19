/**
 * I5, history: every delivered change of a source row has exactly one history row, and an
 * item's history, read in sort-key order, is in change order (change time, then the stream's
 * sequence number when the source is DynamoDB Streams). No history row exists without a
 * delivered change. Duplicated deliveries are expected (they must not add rows).
 *
 * Pure: the chaos test and the local pipeline hand it the changes the mapping delivered and
 * every row of the history table.
 */
import type { HistoryRow } from '../lambda/audit-trail/history-row';
import { historyPartitionKey, historySortKey, type ChangeSource } from '../lambda/audit-trail/history-table';
import type { StreamChange } from '../lambda/shared/decode';
import { ROW_KIND_NAMES, rowKindOf, type RowKindName } from '../lambda/shared/row-kinds';

export interface HistoryFinding {
  readonly invariant: 'I5';
  /** eventID, PK and SK of the change or the row at fault. */
  readonly where: string;
  readonly problem: string;
}

export interface HistoryAuditResult {
  readonly checked: {
    /** Distinct delivered changes of the trail's row kinds. */
    readonly changes: number;
    /** History rows read. */
    readonly rows: number;
    /** Items with a history. */
    readonly items: number;
  };
  readonly findings: readonly HistoryFinding[];
}

export interface CheckHistoryOptions {
  /** The kinds the trail was configured for. Default: every source row kind. */
  readonly rowKinds?: readonly RowKindName[];
  /** Default `dynamodb-streams`. */
  readonly source?: ChangeSource;
}

const where = (eventID: string, pk: string, sk: string) => `eventID=${eventID} PK=${pk} SK=${sk}`;
const rowKey = (pk: string, sk: string) => `${pk}\n${sk}`;

/** Change order of two rows of one item: change time, then (DynamoDB Streams) the sequence number. */
function compareChanges(a: HistoryRow, b: HistoryRow, source: ChangeSource): number {
  const time = Number(a.change_time_us) - Number(b.change_time_us);
  if (time !== 0 || source === 'kinesis') return time;
  const [x, y] = [BigInt(a.sequence_number), BigInt(b.sequence_number)];
  return x < y ? -1 : x > y ? 1 : 0;
}

export function checkHistory(delivered: readonly StreamChange[], rows: readonly HistoryRow[], options: CheckHistoryOptions = {}): HistoryAuditResult {
  const kinds = options.rowKinds ?? ROW_KIND_NAMES;
  const source = options.source ?? 'dynamodb-streams';
  const findings: HistoryFinding[] = [];

  // The history row each delivered change must have, by its key.
  const expected = new Map<string, StreamChange>();
  for (const change of delivered) {
    if (rowKindOf(change.keys, kinds) === undefined) continue;
    expected.set(rowKey(historyPartitionKey(change.keys), historySortKey(change, source)), change);
  }
  const stored = new Map<string, HistoryRow>();
  const perChange = new Map<string, number>();
  for (const row of rows) {
    stored.set(rowKey(row.PK, row.SK), row);
    perChange.set(row.event_id, (perChange.get(row.event_id) ?? 0) + 1);
  }

  for (const [key, change] of expected) {
    const row = stored.get(key);
    if (!row) {
      findings.push({ invariant: 'I5', where: where(change.eventID, change.keys.PK, change.keys.SK), problem: 'delivered change has no history row' });
      continue;
    }
    // A Kinesis duplicate carries another sequence number: there the eventID names the record.
    const sameRecord = row.event_id === change.eventID && (source === 'kinesis' || row.sequence_number === change.sequenceNumber);
    if (row.item_pk !== change.keys.PK || row.item_sk !== change.keys.SK || !sameRecord) {
      findings.push({ invariant: 'I5', where: where(change.eventID, change.keys.PK, change.keys.SK), problem: 'history row names another item or record' });
    }
  }
  for (const [key, row] of stored) {
    if (!expected.has(key)) findings.push({ invariant: 'I5', where: where(row.event_id, row.item_pk, row.item_sk), problem: 'history row without a delivered change' });
  }
  for (const [eventID, count] of perChange) {
    if (count > 1) {
      const row = rows.find((r) => r.event_id === eventID)!;
      findings.push({ invariant: 'I5', where: where(eventID, row.item_pk, row.item_sk), problem: `${count} history rows for one change` });
    }
  }

  // Per item, sort-key order is change order.
  const items = new Map<string, HistoryRow[]>();
  for (const row of rows) items.set(row.PK, [...(items.get(row.PK) ?? []), row]);
  for (const history of items.values()) {
    history.sort((a, b) => (a.SK < b.SK ? -1 : a.SK > b.SK ? 1 : 0));
    for (let i = 1; i < history.length; i++) {
      const [before, after] = [history[i - 1]!, history[i]!];
      if (compareChanges(before, after, source) > 0) {
        findings.push({ invariant: 'I5', where: where(after.event_id, after.item_pk, after.item_sk), problem: `history out of change order: sorts after ${before.event_id}, which changed later` });
      }
    }
  }
  return { checked: { changes: expected.size, rows: rows.length, items: items.size }, findings };
}
