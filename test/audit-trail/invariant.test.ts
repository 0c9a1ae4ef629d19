/**
 * I5 (ops/invariants-history.ts) over real history rows: clean after duplicated and redriven
 * deliveries, and after Kinesis-style delivery (duplicates under new sequence numbers, out of
 * order per item, microsecond change times); each kind of breakage is a finding.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import type { HistoryRow } from '../../lambda/audit-trail/history-row';
import { decodeRecord } from '../../lambda/shared/decode';
import { checkHistory } from '../../ops/invariants-history';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { auditHandler, createHistoryTable, registryRow, tempKeyFile, type HistoryTable } from './support';

describe('I5: one history row per delivered change, in change order', () => {
  let table: HistoryTable;
  const keyFile = tempKeyFile().file;
  beforeAll(async () => (table = await createHistoryTable()));
  afterAll(() => table.drop());

  const v1 = registryRow('N950');
  const v2 = { ...v1, status: 'D' };
  const records = [insertRecord(v1, { eventID: 'z' }), modifyRecord(v1, v2, { eventID: 'y' }), removeRecord(v2, { eventID: 'x' }), insertRecord(registryRow('N951'))];
  const derived = insertRecord({ PK: 'MATCHER#TYPE#B738', SK: 'MFR#X', count: 1 });
  let rows: HistoryRow[];

  beforeAll(async () => {
    const handler = auditHandler(table, keyFile);
    // Delivered with duplicates: a retry of the whole batch and a redrive of part of it.
    const delivered = [...records, derived, ...records, ...records.slice(1, 3)];
    await handler(streamEvent(...delivered.slice(0, 5)));
    await handler(streamEvent(...delivered.slice(5)));
    rows = (await table.scan()).filter((r) => r.item_sk === v1.SK || r.item_sk === 'DETAIL#N951');
  });

  const delivered = () => [...records, derived, ...records].map((r) => decodeRecord(r));

  it('holds after duplicates and redrives', () => {
    const result = checkHistory(delivered(), rows);
    expect(result.findings).toEqual([]);
    expect(result.checked).toEqual({ changes: 4, rows: 4, items: 2 });
  });

  it('a missing row, a row without a change, two rows for one change, and disorder are findings', () => {
    const [first, ...rest] = rows;
    expect(checkHistory(delivered(), rest).findings).toEqual([{ invariant: 'I5', where: expect.stringContaining(`eventID=${first!.event_id}`), problem: 'delivered change has no history row' }]);
    const stray = { ...first!, SK: `${first!.SK}-stray`, event_id: 'never-delivered' };
    expect(checkHistory(delivered(), [...rows, stray]).findings.map((f) => f.problem)).toEqual(['history row without a delivered change']);
    const twin = { ...first!, SK: `${first!.SK}-twin` };
    expect(checkHistory(delivered(), [...rows, twin]).findings.map((f) => f.problem)).toEqual(['history row without a delivered change', '2 history rows for one change']);
    // The insert (oldest) claims a change time after the remove's: out of order.
    const history = rows.filter((r) => r.item_sk === v1.SK);
    const insert = history.find((r) => r.event === 'insert')!;
    const moved = rows.map((r) => (r === insert ? { ...r, change_time_us: r.change_time_us + 10_000_000 } : r));
    expect(checkHistory(delivered(), moved).findings.map((f) => f.problem)).toEqual([expect.stringMatching(/^history out of change order/)]);
  });

  it('Kinesis: duplicates under new sequence numbers and out-of-order delivery still give one row each, in change time order', async () => {
    const item = registryRow('N960');
    const at = (record: DynamoDBRecord, seconds: number, sequenceNumber: string): DynamoDBRecord => ({ ...record, dynamodb: { ...record.dynamodb!, ApproximateCreationDateTime: seconds, SequenceNumber: sequenceNumber } });
    const w1 = { ...item, status: 'A' };
    const w2 = { ...item, status: 'B' };
    const changes = [at(insertRecord(item, { eventID: 'k1' }), 1_780_000_000.000001, '49001'), at(modifyRecord(item, w1, { eventID: 'k2' }), 1_780_000_000.000002, '49002'), at(modifyRecord(w1, w2, { eventID: 'k3' }), 1_780_000_000.5, '49003')];
    // Arrival: the last change first, a duplicate of the first under another Kinesis sequence number.
    const arrival = [changes[2]!, changes[0]!, { ...changes[0]!, dynamodb: { ...changes[0]!.dynamodb!, SequenceNumber: '49999' } }, changes[1]!];
    const handler = auditHandler(table, keyFile, { source: 'kinesis' });
    for (const r of arrival) await handler(streamEvent(r));
    const history = await table.history(item);
    expect(history.map((h) => h.event_id)).toEqual(['k3', 'k2', 'k1']);
    expect(history.map((h) => h.change_time_us)).toEqual([1_780_000_000_500_000, 1_780_000_000_000_002, 1_780_000_000_000_001]);
    expect(checkHistory(arrival.map((r) => decodeRecord(r)), history, { source: 'kinesis' }).findings).toEqual([]);
  });
});
