/**
 * `npm start --failure-dir`: LocalPipeline forwards failureDir to the emulator, so a batch a
 * mapping gives up on lands there as Lambda's S3 on-failure object, which `ops redrive --from
 * <dir>` reads (the folder store and the record parser are ops' own).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalPipeline } from '../../local/pipeline';
import { applyChange } from '../../local/table-io';
import { keysOfFailureObject } from '../../ops/failure-record';
import { folderStore } from '../../ops/failure-store';
import { localEndpoint } from '../support/dynamodb';

it('a discarded batch is written to the failure folder in the format ops redrive reads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'failure-dir-'));
  const pipeline = new LocalPipeline({
    endpoint: localEndpoint(),
    tableName: `failure-dir-${Date.now() % 1e8}`,
    failureDir: dir,
    pollIntervalMs: 20,
    logLevel: 'SILENT',
    emulatorLog: () => undefined,
    settings: { retryAttempts: 0, bisectBatchOnError: false, maxBatchingWindowSeconds: 0 },
    invoke: async (call) => {
      if (call.subsystem === 'image-sync') throw new Error('injected: image-sync is down');
      return call.handler(call.event, call.context);
    },
  });
  await pipeline.start();
  try {
    const key = { PK: 'IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#C172', SK: 'IMG#2026-01-01T00:00:00Z#1' };
    await applyChange(pipeline.doc, pipeline.tableName, { kind: 'put', item: { ...key, org_id: 'SYSTEM', entity_type: 'ICAO', entity_id: 'C172', image_id: 'i1', url: 'https://img.example/1.jpg' } });
    await pipeline.drain(60_000);
    const store = folderStore(dir);
    const objects = await store.list();
    expect(objects).toHaveLength(1);
    const { info, keys } = keysOfFailureObject(await store.read(objects[0]!), objects[0]!);
    expect(keys).toEqual([key]);
    expect(info.batchSize).toBe(1);
    expect((await pipeline.report()).dlq.map((e) => e.subsystem)).toEqual(['image-sync']);
  } finally {
    await pipeline.stop({ dropTable: true });
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
