import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, UpdateTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTableInput } from '../../lambda/shared/table';
import { generateDataset } from '../../local/dataset';
import { localClientConfig } from '../../local/dynamodb-local';
import { LOCAL_QUEUE_URL, LocalPipeline } from '../../local/pipeline';
import { applyChange, loadRows, scanAll } from '../../local/table-io';
import { auditImages, auditMatcher } from '../../ops/invariants';
import { runBackfill } from '../../ops/backfill';
import { createReconcilers } from '../../ops/reconcile';
import { localEndpoint } from '../support/dynamodb';
import { quietLogger } from './support';

/** A table whose rows were written before its stream (and so before any mapping) existed. */
async function prepopulatedTable(name: string, rows: Parameters<typeof loadRows>[2]) {
  const client = new DynamoDBClient(localClientConfig(localEndpoint()));
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const { StreamSpecification, ...withoutStream } = createTableInput(name);
  await client.send(new CreateTableCommand(withoutStream));
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: name });
  await loadRows(doc, name, rows);
  await client.send(new UpdateTableCommand({ TableName: name, StreamSpecification }));
  return { client, doc, drop: async () => { await client.send(new DeleteTableCommand({ TableName: name })); client.destroy(); } };
}

const dataset = generateDataset({ seed: 77, registrations: 20 });

describe('ops backfill on a table that predates its stream', () => {
  it('with a concurrent writer and the pipeline running: after draining, I1-I3 hold', async () => {
    const tableName = `ops-backfill-${Date.now() % 1e8}`;
    const table = await prepopulatedTable(tableName, dataset.rows);
    const pipeline = new LocalPipeline({ endpoint: localEndpoint(), tableName, createTable: false, pollIntervalMs: 20 });
    try {
      await pipeline.start();
      const reconcilers = createReconcilers({ doc: table.doc, tableName, logger: quietLogger(), subsystems: ['typesense-sync', 'image-sync', 'faa-matcher-sync'], sqs: pipeline.queue, queueUrl: LOCAL_QUEUE_URL });
      const writer = (async () => {
        for (const change of dataset.changes) await applyChange(table.doc, tableName, change);
      })();
      const report = await runBackfill({ client: table.client, doc: table.doc, tableName, logger: quietLogger(), reconcilers, run: 'backfill-1', segments: 3, pageSize: 25 });
      await writer;
      await pipeline.drain();
      expect(report.complete).toBe(true);
      expect(report.failed).toEqual({ count: 0, keys: [] });
      expect(report.keys.seen).toBeGreaterThanOrEqual(dataset.rows.length - dataset.changes.length);
      for (const name of ['typesense-sync', 'image-sync', 'faa-matcher-sync'] as const) expect(report.keys.subsystems[name]!.changed).toBeGreaterThan(0);
      const final = await pipeline.report();
      expect(final.audit.drift).toEqual([]);
      expect(final.dlq).toEqual([]);
    } finally {
      await pipeline.stop();
      await table.drop();
    }
  }, 120_000);

  it('killed after a few pages and resumed from the checkpoint: the same result, no double counts; a third run changes nothing', async () => {
    const tableName = `ops-resume-${Date.now() % 1e8}`;
    const table = await prepopulatedTable(tableName, dataset.rows);
    const dir = mkdtempSync(join(tmpdir(), 'ops-backfill-'));
    const checkpointFile = join(dir, 'checkpoint.json');
    try {
      const reconcilers = createReconcilers({ doc: table.doc, tableName, logger: quietLogger(), subsystems: ['image-sync', 'faa-matcher-sync'] });
      const common = { client: table.client, doc: table.doc, tableName, logger: quietLogger(), reconcilers, segments: 2, pageSize: 10, checkpointFile };
      const kill = new AbortController();
      let pages = 0;
      const first = await runBackfill({ ...common, run: 'b1', signal: kill.signal, onProgress: () => (++pages === 3 ? kill.abort() : undefined) });
      expect(first.complete).toBe(false);
      const saved = JSON.parse(readFileSync(checkpointFile, 'utf8'));
      expect(saved).toMatchObject({ version: 2, table: tableName, segments: 2, run: 'b1', scope: { subsystems: ['image-sync', 'faa-matcher-sync'], takeover: false }, failed: [] });
      expect(saved.positions.some((p: unknown) => p !== null && p !== 'done')).toBe(true);

      const second = await runBackfill({ ...common, run: 'b2' });
      expect(second).toMatchObject({ complete: true, resumed: true });
      expect(first.keys.seen + second.keys.seen).toBeLessThanOrEqual(dataset.rows.length + 2 * 10);
      expect(second.keys.seen).toBeLessThan(dataset.rows.length);

      const rows = await scanAll(table.client, tableName);
      expect(auditImages(rows).drift).toEqual([]);
      expect(auditMatcher(rows).drift).toEqual([]);

      rmSync(checkpointFile);
      const third = await runBackfill({ ...common, run: 'b3' });
      expect(third.keys.seen).toBe(rows.length);
      expect(Object.values(third.keys.subsystems).map((s) => s!.changed)).toEqual([0, 0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await table.drop();
    }
  }, 120_000);

  it('--dry-run counts the keys each subsystem would get and writes nothing', async () => {
    const tableName = `ops-dry-${Date.now() % 1e8}`;
    const table = await prepopulatedTable(tableName, dataset.rows);
    try {
      const reconcilers = createReconcilers({ doc: table.doc, tableName, logger: quietLogger(), subsystems: ['image-sync', 'faa-matcher-sync'] });
      const report = await runBackfill({ client: table.client, doc: table.doc, tableName, logger: quietLogger(), reconcilers, run: 'd', segments: 2, dryRun: true });
      const links = dataset.rows.filter((r) => r.PK === 'FAA#LINKS').length;
      expect(report.keys.subsystems['faa-matcher-sync']).toEqual({ keys: links, changed: 0, failed: 0 });
      expect(report.keys.subsystems['image-sync']!.keys).toBeGreaterThan(0);
      expect(await scanAll(table.client, tableName)).toHaveLength(dataset.rows.length);
    } finally {
      await table.drop();
    }
  }, 60_000);
});
