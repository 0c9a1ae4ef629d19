import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFailureObject } from '../../local/esm-emulator';
import { folderStore } from '../../ops/failure-store';
import { keysOfFailureObject } from '../../ops/failure-record';
import { createReconcilers } from '../../ops/reconcile';
import { runRedrive } from '../../ops/redrive';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord } from '../support/events';
import { kinesisRecordOf, rawKinesisRecord } from '../support/kinesis-events';
import { image, link, putAll, quietLogger, tupleRow, T1 } from './support';

/** What a Kinesis mapping's S3 on-failure destination holds: the invocation record with KinesisBatchInfo, and the Kinesis records. */
function kinesisFailureObject(records: ReturnType<typeof kinesisRecordOf>[]) {
  const first = records[0]!.kinesis.sequenceNumber;
  const last = records[records.length - 1]!.kinesis.sequenceNumber;
  return {
    key: `aws/lambda/0f0e8d2c-6f55-4b4b-8a1a-2f6a3c1d9e77/shardId-000000000003/2026/12/03/2026-12-03T08.00.00-${first.slice(-8)}`,
    body: {
      requestContext: { requestId: 'r-1', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:image-sync', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 11 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2026-12-03T08:00:00.000Z',
      KinesisBatchInfo: {
        shardId: 'shardId-000000000003',
        startSequenceNumber: first,
        endSequenceNumber: last,
        approximateArrivalOfFirstRecord: '2026-12-03T07:59:00.000Z',
        approximateArrivalOfLastRecord: '2026-12-03T07:59:01.000Z',
        batchSize: records.length,
        streamArn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/platform-changes',
      },
      payload: JSON.stringify({ Records: records }),
    },
  };
}

describe('redrive of a Kinesis mapping\'s failure objects', () => {
  let table: TestTable;
  let dir: string;
  beforeAll(async () => {
    table = await createTestTable('kinesis-redrive');
  });
  afterAll(() => table.drop());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kinesis-redrive-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the keys out of the Kinesis records and reconciles them; the object is removed', async () => {
    const img = image('K1', 'IMG#1');
    const counted = link('k1');
    await putAll(table, [img, counted]);
    const object = kinesisFailureObject([kinesisRecordOf(insertRecord(img as never)), kinesisRecordOf(insertRecord(counted as never))]);
    writeFailureObject(dir, object as never);
    const store = folderStore(dir);
    const reconcilers = createReconcilers({ doc: table.doc, tableName: table.tableName, logger: quietLogger(), subsystems: ['image-sync', 'faa-matcher-sync'] });
    const report = await runRedrive({ store, reconcilers, run: 'kinesis-1' });
    expect(report.objects.map((o) => o.outcome)).toEqual(['removed']);
    expect(report.keys.seen).toBe(2);
    expect((await table.doc.send(new GetCommand({ TableName: table.tableName, Key: { PK: img.PK, SK: 'DEFAULT' }, ConsistentRead: true }))).Item).toMatchObject({ image_sk: 'IMG#1' });
    const tuple = tupleRow(T1, 1);
    expect((await table.doc.send(new GetCommand({ TableName: table.tableName, Key: { PK: tuple.PK, SK: tuple.SK }, ConsistentRead: true }))).Item).toMatchObject({ count: 1 });
    expect(await store.list()).toEqual([]);
  });

  it('an unreadable Kinesis record names the object, the record and its sequence number', () => {
    const object = kinesisFailureObject([rawKinesisRecord('bm90IGpzb24=', '49657828409187701520019995242508390119953358325192589999')]);
    expect(() => keysOfFailureObject(JSON.stringify(object.body), 'bucket/key')).toThrow(
      /^bucket\/key: record 0: Kinesis record 49657828409187701520019995242508390119953358325192589999: data is not base64-encoded JSON/,
    );
  });
});
