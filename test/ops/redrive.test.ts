import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditImages, auditMatcher } from '../../ops/invariants';
import { localClientConfig } from '../../local/dynamodb-local';
import { writeFailureObject, type DlqEntry } from '../../local/esm-emulator';
import { LOCAL_QUEUE_URL, LocalPipeline } from '../../local/pipeline';
import { folderStore, KEPT_SUFFIX } from '../../ops/failure-store';
import { createReconcilers } from '../../ops/reconcile';
import { runDlqRedrive, runRedrive } from '../../ops/redrive';
import { localEndpoint } from '../support/dynamodb';
import { image, link, quietLogger } from './support';

const FAILING = new Set(['image-sync', 'faa-matcher-sync']);

/** A pipeline whose image-sync and matcher mappings fail every record until `healed`, so their batches go to the on-failure destination. */
async function failingPipeline(dir: string) {
  const entries: DlqEntry[] = [];
  let healed = false;
  const pipeline = new LocalPipeline({
    endpoint: localEndpoint(),
    tableName: `ops-redrive-${Math.random().toString(36).slice(2, 10)}`,
    pollIntervalMs: 20,
    settings: { retryAttempts: 1, bisectBatchOnError: false, batchSize: 4 },
    invoke: async (call) => {
      if (!healed && FAILING.has(call.subsystem)) throw new Error('injected: downstream unavailable');
      return call.handler(call.event, call.context);
    },
    onDlq: (entry) => {
      entries.push(entry);
      writeFailureObject(dir, entry.failureObject);
    },
  });
  await pipeline.start();
  const rows = [image('A', 'IMG#1'), image('A', 'IMG#2'), image('B', 'IMG#1'), link('1'), link('2'), link('3')];
  for (const Item of rows) await pipeline.doc.send(new PutCommand({ TableName: pipeline.tableName, Item }));
  await pipeline.drain();
  return { pipeline, entries, heal: () => (healed = true) };
}

const driftOf = async (pipeline: LocalPipeline) => {
  const rows = await pipeline.rows();
  return [...auditImages(rows).drift, ...auditMatcher(rows).drift];
};

describe('ops redrive', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ops-redrive-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('S3-format failure objects (one older than the stream retains): --dry-run changes nothing; a redrive lands every key and removes the objects', async () => {
    const { pipeline, entries, heal } = await failingPipeline(dir);
    try {
      expect(new Set(entries.map((e) => e.subsystem))).toEqual(FAILING);
      const store = folderStore(dir);
      const objects = await store.list();
      expect(objects.length).toBe(entries.length);
      for (const key of objects) expect(key).toMatch(/^aws\/lambda\/[0-9a-f-]{36}\/[^/]+\/\d{4}\/\d{2}\/\d{2}\/\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}-[0-9a-f-]{36}$/);
      expect((await driftOf(pipeline)).length).toBeGreaterThan(0);

      // Age one object beyond the stream's 24 h and point it at a stream that no longer exists: its payload still holds the keys.
      const oldPath = join(dir, ...objects[0]!.split('/'));
      const old = JSON.parse(readFileSync(oldPath, 'utf8'));
      old.timestamp = new Date(Date.now() - 3 * 86_400_000).toISOString();
      old.DDBStreamBatchInfo.streamArn = 'arn:aws:dynamodb:us-east-1:000000000000:table/gone/stream/2020-01-01T00:00:00.000';
      old.payload = JSON.parse(old.payload); // some tools store the payload as an object
      writeFileSync(oldPath, JSON.stringify(old));

      heal();
      const reconcilers = createReconcilers({ doc: pipeline.doc, tableName: pipeline.tableName, logger: quietLogger(), subsystems: ['typesense-sync', 'image-sync', 'faa-matcher-sync'], sqs: pipeline.queue, queueUrl: LOCAL_QUEUE_URL });
      const dry = await runRedrive({ store, reconcilers, run: 'dry', dryRun: true });
      expect(dry.objects.map((o) => o.outcome)).toEqual(objects.map(() => 'would-redrive'));
      expect(await store.list()).toEqual(objects);
      expect((await driftOf(pipeline)).length).toBeGreaterThan(0);

      const report = await runRedrive({ store, reconcilers, run: 'redrive-1' });
      expect(report.objects.map((o) => o.outcome)).toEqual(objects.map(() => 'removed'));
      expect(report.keys.failures).toEqual([]);
      expect(report.keys.seen).toBe(entries.reduce((n, e) => n + e.body.DDBStreamBatchInfo.batchSize, 0));
      expect(await store.list()).toEqual([]);
      await pipeline.drain();
      expect((await pipeline.report()).audit.drift).toEqual([]);
    } finally {
      await pipeline.stop({ dropTable: true });
    }
  }, 60_000);

  it('--keep marks instead of deleting; an unreadable object is left and named', async () => {
    const { pipeline, heal } = await failingPipeline(dir);
    try {
      heal();
      writeFileSync(join(dir, 'aws', 'broken'), '{"DDBStreamBatchInfo":{}}');
      const store = folderStore(dir);
      const reconcilers = createReconcilers({ doc: pipeline.doc, tableName: pipeline.tableName, logger: quietLogger(), subsystems: ['image-sync', 'faa-matcher-sync'] });
      const report = await runRedrive({ store, reconcilers, run: 'k', keep: true });
      expect(report.objects.find((o) => o.object === 'aws/broken')).toMatchObject({ outcome: 'left', error: expect.stringContaining('aws/broken: not a stream on-failure record (DDBStreamBatchInfo') });
      const kept = report.objects.filter((o) => o.outcome === 'kept');
      expect(kept.length).toBeGreaterThan(0);
      for (const o of kept) expect(existsSync(join(dir, ...o.object.split('/')) + KEPT_SUFFIX)).toBe(true);
      expect(await store.list()).toEqual(['aws/broken']);
      expect(await driftOf(pipeline)).toEqual([]);
    } finally {
      await pipeline.stop({ dropTable: true });
    }
  }, 60_000);

  it('--dlq-url: metadata messages are re-read from the stream and deleted; a range the stream no longer holds is reported and left', async () => {
    const { pipeline, entries, heal } = await failingPipeline(dir);
    const sqsMock = mockClient(SQSClient);
    const streams = new DynamoDBStreamsClient(localClientConfig(localEndpoint()));
    try {
      heal();
      const bodies = entries.map((e) => JSON.stringify(e.body));
      const gone = JSON.parse(bodies[0]!);
      gone.DDBStreamBatchInfo.shardId = 'shardId-00000000000000000000-deadbeef';
      const messages = [...bodies, JSON.stringify(gone)].map((Body, i) => ({ MessageId: `m${i}`, ReceiptHandle: `r${i}`, Body }));
      sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages }).resolves({ Messages: [] });
      sqsMock.on(DeleteMessageCommand).resolves({});
      const reconcilers = createReconcilers({ doc: pipeline.doc, tableName: pipeline.tableName, logger: quietLogger(), subsystems: ['image-sync', 'faa-matcher-sync'] });
      const report = await runDlqRedrive({ sqs: new SQSClient({ region: 'us-east-1' }), queueUrl: 'https://sqs/dlq', streams, reconcilers, run: 'd1' });
      expect(report.messages.slice(0, -1).map((m) => m.outcome)).toEqual(bodies.map(() => 'deleted'));
      expect(report.messages.at(-1)).toMatchObject({ messageId: `m${bodies.length}`, outcome: 'left', error: expect.stringMatching(/^the stream no longer retains this range/) });
      expect(report.unretained).toBe(1);
      expect(sqsMock.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual(bodies.map((_, i) => `r${i}`));
      expect(await driftOf(pipeline)).toEqual([]);
    } finally {
      sqsMock.restore();
      streams.destroy();
      await pipeline.stop({ dropTable: true });
    }
  }, 60_000);
});
