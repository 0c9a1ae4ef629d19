/**
 * ChangeToAppliedMs, the freshness metric: one value per change that took effect, the time from
 * the change in the table (the record's ApproximateCreationDateTime; through the search queue,
 * the trigger's origin) to the moment its effect completed. Bounds come from clocks read
 * around the call, so nothing depends on how fast the machine is.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord } from 'aws-lambda';
import { ChangeFailedError } from '../../lambda/shared/errors';
import { MetricTally, STREAM_METRICS } from '../../lambda/shared/metrics';
import { createStreamHandler, type Subsystem } from '../../lambda/shared/runner';
import { createIndexerHandler } from '../../lambda/typesense-indexer/handler';
import { insertRecord } from '../support/events';
import { kinesisRecordOf } from '../support/kinesis-events';
import { faaRow } from '../typesense-sync/support/rows';
import { indexerRig, sqsRecord, triggerBody, type IndexerRig } from '../typesense-indexer/support';
import { capture, countersOf, enableMetrics, freshnessOf, metricsFor } from './support';

const logger = new Logger({ serviceName: 'freshness-test', logLevel: 'SILENT' });

/** A record changed `ageSeconds` ago (fractions kept, as Kinesis gives them). */
const changedAgo = (n: number, ageSeconds: number): DynamoDBRecord => {
  const record = insertRecord({ PK: `OWN#${n}`, SK: 'ROW' });
  record.dynamodb!.ApproximateCreationDateTime = Date.now() / 1000 - ageSeconds;
  return record;
};

function subsystem(failAt?: number): Subsystem {
  return {
    name: 'test-subsystem',
    owns: (keys) => keys.PK.startsWith('OWN#'),
    needsImages: false,
    apply: async () => {
      if (failAt !== undefined) throw new ChangeFailedError(failAt, new Error('injected'));
    },
  };
}
const handlerFor = (sub: Subsystem) => createStreamHandler(sub, logger, new MetricTally(metricsFor('test-subsystem'), STREAM_METRICS));

/** Runs `fn` and returns its EMF docs with the wall-clock interval it ran in. */
async function timed<T>(fn: () => Promise<T>) {
  const before = Date.now();
  const out = await capture(fn);
  return { ...out, before, after: Date.now() };
}

let restore: () => void;
let rig: IndexerRig;
beforeAll(async () => {
  restore = enableMetrics();
  rig = await indexerRig();
});
afterAll(async () => {
  restore();
  await rig.stop();
});

describe('ChangeToAppliedMs', () => {
  it('one value per owned change applied, each the time since its change (foreign records none)', async () => {
    const records = [changedAgo(1, 60), insertRecord({ PK: 'OTHER#1', SK: 'ROW' }), changedAgo(2, 30.5)];
    const ages = [60, 30.5];
    const { docs, before, after } = await timed(() => handlerFor(subsystem())({ Records: records }));
    const values = freshnessOf(docs);
    expect(values).toHaveLength(2);
    values.forEach((v, i) => {
      // Change time = t_record; the value is (moment applied) - t_record, and that moment lies in [before, after].
      const changeMs = (records[i === 0 ? 0 : 2]!.dynamodb!.ApproximateCreationDateTime as number) * 1000;
      expect(v).toBeGreaterThanOrEqual(Math.floor(before - changeMs));
      expect(v).toBeLessThanOrEqual(Math.ceil(after - changeMs));
      expect(v).toBeGreaterThanOrEqual(ages[i]! * 1000 - 1);
    });
    expect(countersOf(docs).values).toMatchObject({ RecordsOwned: 2 });
  });

  it('after a failure at a position, only the changes before it are measured', async () => {
    const records = [changedAgo(1, 10), changedAgo(2, 10), changedAgo(3, 10)];
    const { docs, result } = await timed(() => handlerFor(subsystem(1))({ Records: records }));
    expect((result as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(2);
    expect(freshnessOf(docs)).toHaveLength(1);
  });

  it('Kinesis records: microsecond change times, and failures named by the Kinesis sequence number', async () => {
    const changeMicros = Date.now() * 1000 - 5_000_123;
    const records = [0, 1].map((n) => kinesisRecordOf(insertRecord({ PK: `OWN#k${n}`, SK: 'ROW' }), { changeTimeMicros: changeMicros }));
    const { docs, before, after } = await timed(() => handlerFor(subsystem())({ Records: records } as never));
    for (const v of freshnessOf(docs)) {
      expect(v).toBeGreaterThanOrEqual(Math.floor(before - changeMicros / 1000));
      expect(v).toBeLessThanOrEqual(Math.ceil(after - changeMicros / 1000));
    }
    expect(freshnessOf(docs)).toHaveLength(2);
    const failed = (await capture(() => handlerFor(subsystem(1))({ Records: records } as never))).result!;
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: records[1]!.kinesis.sequenceNumber }]);
  });

  it('the indexer: one value per stream trigger whose document is indexed, none for a backfill trigger', async () => {
    const rows = [faaRow('F1'), faaRow('F2')];
    for (const row of rows) await rig.put(row);
    const key = (row: { PK: unknown; SK: unknown }) => ({ PK: String(row.PK), SK: String(row.SK) });
    const changedAt = Date.now() / 1000 - 42;
    const stream = sqsRecord(triggerBody(key(rows[0]!), { kind: 'stream', eventID: 'e1', sequenceNumber: '1', approximateCreationDateTime: changedAt }));
    const backfill = sqsRecord(triggerBody(key(rows[1]!), { kind: 'backfill', run: 'backfill-1' }));
    const handler = createIndexerHandler({ ...rig.deps, logger: rig.deps.logger as never, metrics: metricsFor('typesense-indexer') });
    const { docs, result, before, after } = await timed(() => handler({ Records: [stream, backfill] }));
    expect(result).toEqual({ batchItemFailures: [] });
    const values = freshnessOf(docs);
    expect(values).toHaveLength(1);
    expect(values[0]).toBeGreaterThanOrEqual(Math.floor(before - changedAt * 1000));
    expect(values[0]).toBeLessThanOrEqual(Math.ceil(after - changedAt * 1000));
  });
});
