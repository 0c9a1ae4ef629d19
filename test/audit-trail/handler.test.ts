/**
 * The audit trail against DynamoDB Local: one history row per delivered change (insert, modify
 * with only the changed fields, remove, TTL expiry), nothing new on duplicates and redrives,
 * only source rows, one history per item in order, and a row that fits for a 400 KB item.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { openHistoryRow, RowOpener } from '../../lambda/audit-trail/open-row';
import { keyFileDataKeys, type KeyFile } from '../../lambda/audit-trail/key-file';
import { buildHistoryRow } from '../../lambda/audit-trail/history-row';
import { encryptProtection } from '../../lambda/audit-trail/sensitive';
import { encodeValue } from '../../lambda/audit-trail/values';
import { decodeRecord } from '../../lambda/shared/decode';
import { ROW_KINDS } from '../../lambda/shared/row-kinds';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { auditHandler, countingMetrics, createHistoryTable, registryRow, tempKeyFile, type HistoryTable } from './support';

const TTL_DELETE = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };
const CHANGE_SECONDS = 1_780_000_000;

describe('audit trail: history rows on DynamoDB Local', () => {
  let table: HistoryTable;
  let keyFile: KeyFile;
  beforeAll(async () => {
    table = await createHistoryTable();
    keyFile = tempKeyFile().file;
  });
  afterAll(() => table.drop());

  const opener = () => new RowOpener(keyFileDataKeys(keyFile));
  const ok = { batchItemFailures: [] };

  it('insert: every field added, personal fields encrypted, keys, ids, time and retention', async () => {
    const row = registryRow('N100');
    const record = insertRecord(row);
    expect(await auditHandler(table, keyFile)(streamEvent(record))).toEqual(ok);
    const [h, ...more] = await table.history(row);
    expect(more).toHaveLength(0);
    expect(h).toMatchObject({
      item_pk: row.PK,
      item_sk: row.SK,
      row_kind: 'faa-registration',
      event: 'insert',
      event_id: record.eventID,
      sequence_number: record.dynamodb!.SequenceNumber,
      change_time_us: CHANGE_SECONDS * 1e6,
      change_time: new Date(CHANGE_SECONDS * 1000).toISOString(),
      sensitive: 'encrypt',
      expires_at: CHANGE_SECONDS + 90 * 86_400,
    });
    expect(h!.data_key?.key_id).toBe(keyFile.keyId);
    expect(h!.diff.added.registration).toEqual({ v: 'N100' });
    for (const field of ROW_KINDS['faa-registration'].sensitive.filter((f) => f in row)) expect(Object.keys(h!.diff.added[field]!)).toEqual(['enc']);
    expect(Object.keys(h!.diff.added).sort()).toEqual(Object.keys(row).filter((k) => k !== 'PK' && k !== 'SK').sort());
    expect(h!.diff.removed).toEqual({});
    expect(h!.diff.changed).toEqual({});
    // The encrypted values open with the data key (ops history --decrypt).
    const opened = await openHistoryRow(h!, opener());
    expect(opened.find((c) => c.field === 'owner_name')).toEqual({ field: 'owner_name', change: 'added', new: { value: row.owner_name } });
  });

  it('modify: only the changed fields, old and new; added and removed fields as such', async () => {
    const before = registryRow('N101');
    const { street: _dropped, ...rest } = before;
    const after = { ...rest, status: 'D', city: 'CANARY-CITY-MOVED', year_manufactured: 1999 };
    expect(await auditHandler(table, keyFile)(streamEvent(modifyRecord(before, after)))).toEqual(ok);
    const [h] = await table.history(before);
    expect(h!.event).toBe('modify');
    expect(h!.diff.changed).toEqual({ status: { old: { v: 'V' }, new: { v: 'D' } }, city: { old: { enc: expect.any(String) }, new: { enc: expect.any(String) } } });
    expect(h!.diff.added).toEqual({ year_manufactured: { v: 1999 } });
    expect(Object.keys(h!.diff.removed)).toEqual(['street']);
    expect(await openHistoryRow(h!, opener())).toEqual([
      { field: 'city', change: 'changed', old: { value: before.city }, new: { value: after.city } },
      { field: 'status', change: 'changed', old: { value: 'V' }, new: { value: 'D' } },
      { field: 'street', change: 'removed', old: { value: before.street } },
      { field: 'year_manufactured', change: 'added', new: { value: 1999 } },
    ]);
  });

  it('a modify that changes nothing but nested order writes an empty diff, not a false change', async () => {
    const before = { PK: 'ICAO#AIRCRAFT', SK: 'TYPE#C172', type_designator: 'C172', tags: { a: 1, b: [1, 2] } };
    const after = { ...before, tags: { b: [1, 2], a: 1 }, description: 'x' };
    await auditHandler(table, keyFile)(streamEvent(modifyRecord(before, after)));
    const [h] = await table.history(before);
    expect(h!.diff).toEqual({ added: { description: { v: 'x' } }, removed: {}, changed: {} });
    expect(h!.sensitive).toBeUndefined(); // no personal field touched: no data key asked for
  });

  it('remove, and a TTL deletion marked as expire', async () => {
    const a = registryRow('N102');
    const b = registryRow('N103');
    const handler = auditHandler(table, keyFile);
    expect(await handler(streamEvent(removeRecord(a), { ...removeRecord(b), userIdentity: TTL_DELETE }))).toEqual(ok);
    const [ha] = await table.history(a);
    const [hb] = await table.history(b);
    expect(ha!.event).toBe('remove');
    expect(hb!.event).toBe('expire');
    expect(Object.keys(hb!.diff.removed).sort()).toEqual(Object.keys(b).filter((k) => k !== 'PK' && k !== 'SK').sort());
    expect(hb!.diff.added).toEqual({});
  });

  it('one history per item, newest first; changes within one second keep stream order', async () => {
    const v1 = registryRow('N104');
    const v2 = { ...v1, status: 'D' };
    const v3 = { ...v2, status: 'E' };
    // eventIDs are not ordered (DynamoDB's are random hex): here they sort against stream order.
    const records = [insertRecord(v1, { eventID: 'd4' }), modifyRecord(v1, v2, { eventID: 'c3' }), modifyRecord(v2, v3, { eventID: 'b2' }), removeRecord(v3, { eventID: 'a1' })];
    // All four share one change second (the stream's precision): the sequence number orders them.
    expect(new Set(records.map((r) => r.dynamodb!.ApproximateCreationDateTime)).size).toBe(1);
    await auditHandler(table, keyFile)(streamEvent(...records));
    const history = await table.history(v1);
    expect(history.map((h) => h.event_id)).toEqual(records.map((r) => r.eventID).reverse());
    expect(history.map((h) => h.event)).toEqual(['remove', 'modify', 'modify', 'insert']);
  });

  it('rows that share a PK (FAA links) get a history partition each', async () => {
    const link = (sn: string) => ({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#1384412#SN#${sn}`, mfr_mdl_code: '1384412', serial_number: sn, type_designator: 'B738' });
    await auditHandler(table, keyFile)(streamEvent(insertRecord(link('1')), insertRecord(link('2'))));
    const [h1] = await table.history(link('1'));
    const [h2] = await table.history(link('2'));
    expect(h1!.PK).not.toBe(h2!.PK);
    expect([h1!.item_sk, h2!.item_sk]).toEqual([link('1').SK, link('2').SK]);
  });

  it('only source rows: pointers, tuples and contribution rows have no history', async () => {
    const { metrics, sums } = countingMetrics();
    const source = [
      { PK: 'IMAGES#ORG#o#ENTITY#REGISTRATION#ID#N105', SK: 'IMG#1', org_id: 'o', entity_type: 'REGISTRATION', entity_id: 'N105', image_id: '1', url: 'u' },
      { PK: 'ICAO#MANUFACTURERS', SK: 'MFR#CESSNA', code: 'CESSNA', name: 'Cessna' },
      { PK: 'ICAO#VARIANTS', SK: 'C172#S', type_designator: 'C172' },
      { PK: 'AIRCRAFT#REGISTRY#FOREIGN', SK: 'DETAIL#G-ABCD', registration: 'G-ABCD', owner_name: 'CANARY-F' },
    ];
    const derived = [
      { PK: 'IMAGES#ORG#o#ENTITY#REGISTRATION#ID#N105', SK: 'DEFAULT', image_sk: 'IMG#1' },
      { PK: 'MATCHER#TYPE#B738', SK: 'MFR#BOEING#MODEL#737', count: 1 },
      { PK: 'CONTRIB#FAA#LINKS#x', SK: 'TUPLE', tuple: 'x' },
    ];
    const before = (await table.scan()).length;
    const handler = auditHandler(table, keyFile, { metrics });
    expect(await handler(streamEvent(...[...source, ...derived].map((r) => insertRecord(r))))).toEqual(ok);
    expect((await table.scan()).length - before).toBe(source.length);
    for (const row of derived) expect(await table.history(row)).toEqual([]);
    expect(sums).toMatchObject({ RecordsReceived: 7, RecordsOwned: 4, RecordsSkipped: 3, HistoryRowsWritten: 4, HistoryDuplicates: 0 });
  });

  it('the rowKinds option narrows the trail', async () => {
    const row = registryRow('N106');
    const link = { PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#1#SN#N106', mfr_mdl_code: '1', serial_number: 'N106' };
    await auditHandler(table, keyFile, { rowKinds: ['faa-link'] })(streamEvent(insertRecord(row), insertRecord(link)));
    expect(await table.history(row)).toEqual([]);
    expect(await table.history(link)).toHaveLength(1);
  });

  it('duplicates, retries and a redrive of the same records write nothing new', async () => {
    const rows = ['N200', 'N201', 'N202', 'N203'].map((n) => registryRow(n));
    const records = [...rows.map((r) => insertRecord(r)), modifyRecord(rows[0]!, { ...rows[0]!, status: 'X' })];
    const first = countingMetrics();
    expect(await auditHandler(table, keyFile, { metrics: first.metrics })(streamEvent(...records))).toEqual(ok);
    expect(first.sums).toMatchObject({ HistoryRowsWritten: 5, HistoryDuplicates: 0 });
    const stored = await table.scan();

    // The same batch again (a retry), its bisected halves, the same record twice in one batch,
    // and a redrive in another container (a new data key): all duplicates.
    const again = countingMetrics();
    const handler = auditHandler(table, keyFile, { metrics: again.metrics });
    expect(await handler(streamEvent(...records))).toEqual(ok);
    expect(await handler(streamEvent(...records.slice(0, 2)))).toEqual(ok);
    expect(await handler(streamEvent(...records.slice(2)))).toEqual(ok);
    expect(await handler(streamEvent(records[1]!, records[1]!))).toEqual(ok);
    expect(await auditHandler(table, tempKeyFile().file, { metrics: again.metrics })(streamEvent(...records))).toEqual(ok);
    expect(again.sums).toMatchObject({ HistoryRowsWritten: 0, HistoryDuplicates: 17 });
    // Not one row added or rewritten.
    expect(await table.scan()).toEqual(stored);
  });

  it('a put that fails stops the batch at its record; the redelivery writes the rest exactly once', async () => {
    const rows = ['N300', 'N301', 'N302', 'N303', 'N304'].map((n) => registryRow(n));
    const records = rows.map((r) => insertRecord(r));
    let failOnce = records[2]!.eventID;
    table.client.middlewareStack.add(
      (next) => async (args) => {
        const item = (args.input as { Item?: { event_id?: { S?: string } } }).Item;
        if (item?.event_id?.S === failOnce) {
          failOnce = '';
          throw Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' });
        }
        return next(args);
      },
      { step: 'build', name: 'failOnePut' },
    );
    try {
      const response = await auditHandler(table, keyFile)(streamEvent(...records));
      expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(2).map((r) => r.dynamodb!.SequenceNumber));
      const before = await table.scan();
      for (const r of rows.slice(0, 2)) expect(await table.history(r)).toHaveLength(1);
      expect(await table.history(rows[2]!)).toHaveLength(0);

      const { metrics, sums } = countingMetrics();
      expect(await auditHandler(table, keyFile, { metrics })(streamEvent(...records.slice(2)))).toEqual(ok);
      for (const r of rows) expect(await table.history(r)).toHaveLength(1);
      // Rows after the failure may have been written concurrently: they read as duplicates now.
      const writtenBefore = before.filter((h) => rows.some((r) => r.SK === h.item_sk)).length;
      expect(sums).toMatchObject({ HistoryRowsWritten: 5 - writtenBefore, HistoryDuplicates: writtenBefore - 2 });
    } finally {
      table.client.middlewareStack.remove('failOnePut');
    }
  });

  it('throttling is retried with backoff; outlasting the retries fails the record as throttled', async () => {
    let throttle = 2;
    table.client.middlewareStack.add(
      (next) => async (args) => {
        if (throttle-- > 0) throw Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
        return next(args);
      },
      { step: 'build', name: 'throttle' },
    );
    const sleeps: number[] = [];
    try {
      const row = registryRow('N310');
      const retry = { sleep: async (ms: number) => void sleeps.push(ms), random: () => 0.5 };
      expect(await auditHandler(table, keyFile, { retry })(streamEvent(insertRecord(row)))).toEqual(ok);
      expect(sleeps).toHaveLength(2);
      expect(await table.history(row)).toHaveLength(1);

      throttle = 100;
      const { metrics, sums } = countingMetrics();
      const other = registryRow('N311');
      const record = insertRecord(other);
      // Every record of the batch failed: the handler throws, so Lambda may bisect.
      const handler = auditHandler(table, keyFile, { retry: { ...retry, maxAttempts: 3 }, metrics });
      await expect(handler(streamEvent(record))).rejects.toThrow(new RegExp(`history put still failing after 3 attempts \\[eventID=${record.eventID} .*ProvisionedThroughputExceededException`));
      expect(sums).toMatchObject({ 'Failures:throttled': 1 });
    } finally {
      table.client.middlewareStack.remove('throttle');
    }
  });

  it('a record without a change time fails, named, as a decode failure', async () => {
    const row = registryRow('N320');
    const record = insertRecord(row) as DynamoDBRecord;
    delete record.dynamodb!.ApproximateCreationDateTime;
    const { metrics, sums } = countingMetrics();
    await expect(auditHandler(table, keyFile, { metrics })(streamEvent(record))).rejects.toThrow(new RegExp(`ApproximateCreationDateTime.*eventID=${record.eventID}`));
    expect(sums).toMatchObject({ 'Failures:decode': 1 });
  });

  describe('an item near 400 KB', () => {
    const big = (n: string, fill: string, bytes: number) => ({ ...registryRow(n), remarks: fill.repeat(bytes) });

    it('without fitting, its insert row would exceed the item limit (DynamoDB Local refuses it)', async () => {
      const row = big('N400', 'a', 409_000);
      const h = await buildHistoryRow(decodeRecord(insertRecord(row)), ROW_KINDS['faa-registration'], {
        source: 'dynamodb-streams', retentionDays: 90, protection: encryptProtection(keyFileDataKeys(keyFile)), maxBytes: Infinity,
      });
      await expect(table.doc.send(new PutCommand({ TableName: table.tableName, Item: h }))).rejects.toThrow(/size/i);
    });

    it('insert: the largest value is left out (size and digest kept), the rest is stored', async () => {
      const row = big('N401', 'a', 409_000);
      const { metrics, sums } = countingMetrics();
      expect(await auditHandler(table, keyFile, { metrics })(streamEvent(insertRecord(row)))).toEqual(ok);
      const [h] = await table.history(row);
      expect(h!.omitted).toBe(1);
      expect(h!.diff.added.remarks).toEqual({ omitted: { bytes: 409_000, sha256: createHash('sha256').update(encodeValue(row.remarks)).digest('hex') } });
      expect(h!.diff.added.registration).toEqual({ v: 'N401' });
      expect(sums).toMatchObject({ HistoryRowsWritten: 1, HistoryValuesOmitted: 1 });
    });

    it('modify of a large value: old and new cannot both fit; one is left out, the other kept', async () => {
      const before = big('N402', 'a', 300_000);
      const after = { ...before, remarks: 'b'.repeat(300_000), status: 'D' };
      expect(await auditHandler(table, keyFile)(streamEvent(modifyRecord(before, after)))).toEqual(ok);
      const [h] = await table.history(before);
      expect(h!.omitted).toBe(1);
      const remarks = h!.diff.changed.remarks!;
      expect([remarks.old, remarks.new].filter((v) => 'omitted' in v)).toHaveLength(1);
      expect([remarks.old, remarks.new].filter((v) => 'v' in v)).toHaveLength(1);
      expect(h!.diff.changed.status).toEqual({ old: { v: 'V' }, new: { v: 'D' } });
    });
  });
});
