/**
 * Randomised churn: hundreds of image inserts, updates and deletes (and the odd user choice
 * of default) across a few entities, written to a real table; the stream records built from
 * the real before/after images are delivered in order, in random batches, with random
 * duplicates and replays of earlier batches. Once everything is delivered, I2 must hold.
 */
import fc from 'fast-check';
import type { DynamoDBRecord } from 'aws-lambda';
import { type ImageEntity } from '../../lambda/image-sync/keys';
import { i2Violations, type ImageRow } from '../../lambda/image-sync/reconcile';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { imageRow, imageSync, newEntity, pointerFor, readPartition, tableWriter, writePointer } from './helpers';

const OPS_PER_RUN = 300;
const RUNS = 2;
const SLOTS = 5; // images per entity: few, so deletes, re-inserts and pointed-image removals collide often

type Op =
  | { kind: 'put'; entity: number; slot: number; url: number; caption: number }
  | { kind: 'delete'; entity: number; slot: number }
  | { kind: 'clear'; entity: number }
  | { kind: 'choose'; entity: number; slot: number }
  | { kind: 'deliver'; take: number; duplicates: number[]; replay: boolean };

const entityIndex = fc.integer({ min: 0, max: 3 });
const slot = fc.integer({ min: 1, max: SLOTS });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 9, arbitrary: fc.record({ kind: fc.constant('put' as const), entity: entityIndex, slot, url: fc.integer({ min: 0, max: 2 }), caption: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('delete' as const), entity: entityIndex, slot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('choose' as const), entity: entityIndex, slot }) },
  // every image of the entity deleted (an entity retired): makes "no images remain" common
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), entity: entityIndex }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('deliver' as const),
      take: fc.integer({ min: 1, max: 25 }),
      // positions (within the batch) of records delivered twice in a row
      duplicates: fc.uniqueArray(fc.integer({ min: 0, max: 24 }), { maxLength: 3 }),
      replay: fc.boolean(),
    }),
  },
);

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('image-churn');
});
afterAll(() => table.drop());

describe('image-sync churn', () => {
  it(`I2 holds after ${RUNS} runs of ${OPS_PER_RUN} random ops with duplicates and replays`, async () => {
    const writer = tableWriter(table);
    const actionsSeen = new Map<string, number>();
    let delivered = 0;

    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: OPS_PER_RUN, maxLength: OPS_PER_RUN }), async (ops) => {
        const entities: ImageEntity[] = [newEntity('REGISTRATION', 'SYSTEM'), newEntity('REGISTRATION', 'ORG2'), newEntity('ICAO', 'SYSTEM'), newEntity('ICAO', 'ORG3')];
        const existing = entities.map(() => new Map<number, ReturnType<typeof imageRow>>());
        const sync = imageSync(table, { clock: () => new Date() });
        const pending: DynamoDBRecord[] = [];
        const history: DynamoDBRecord[][] = [];

        const deliver = async (batch: DynamoDBRecord[]) => {
          expect(await sync.run(...batch)).toEqual({ batchItemFailures: [] });
          delivered += batch.length;
        };

        for (const op of ops) {
          const entity = entities[op.kind === 'deliver' ? 0 : op.entity]!;
          const images = existing[op.kind === 'deliver' ? 0 : op.entity]!;
          switch (op.kind) {
            case 'put': {
              const row = imageRow(entity, op.slot, {
                url: `https://img.example/${entity.entityId}/${op.slot}-v${op.url}.jpg`,
                caption: [undefined, 'A caption', 'Another caption'][op.caption],
              });
              pending.push(await writer.put(row));
              images.set(op.slot, row);
              break;
            }
            case 'delete': {
              const record = await writer.remove(imageRow(entity, op.slot));
              if (record) pending.push(record);
              images.delete(op.slot);
              break;
            }
            case 'clear': {
              for (const row of [...images.values()]) {
                const record = await writer.remove(row);
                if (record) pending.push(record);
              }
              images.clear();
              break;
            }
            case 'choose': {
              // a user picks an existing image as the default (written directly, as the app would)
              const row = images.get(op.slot);
              if (row) await writePointer(table, entity, pointerFor(row, 'user'));
              break;
            }
            case 'deliver': {
              const batch = pending.splice(0, op.take);
              if (batch.length === 0) break;
              const withDuplicates = batch.flatMap((record, i) => (op.duplicates.includes(i) ? [record, record] : [record]));
              await deliver(withDuplicates);
              history.push(batch);
              // a replay: an earlier batch delivered again (a retried batch, a redelivery after a timeout)
              if (op.replay) await deliver(history[Math.floor(history.length / 2)]!);
              break;
            }
          }
        }
        while (pending.length > 0) await deliver(pending.splice(0, 25));

        for (const entity of entities) {
          const rows = await readPartition(table, entity);
          const images = rows.filter((r) => String(r.SK).startsWith('IMG#')) as ImageRow[];
          const pointer = rows.find((r) => r.SK === 'DEFAULT');
          expect({ entity: entity.entityId, violations: i2Violations(images, pointer) }).toEqual({ entity: entity.entityId, violations: [] });
          // the model of the table agrees with it (the churn really happened where we think)
          expect(images.map((i) => i.SK).sort()).toEqual([...existing[entities.indexOf(entity)]!.values()].map((r) => r.SK).sort());
        }
        for (const line of sync.log.lines) {
          const action = (line.extra[0] as { action?: string } | undefined)?.action;
          if (line.message === 'default image reconciled' && action) actionsSeen.set(action, (actionsSeen.get(action) ?? 0) + 1);
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );

    // the runs exercised every kind of write, so I2 holding is not vacuous
    expect([...actionsSeen.keys()].sort()).toEqual(['create', 'delete', 'repair', 'switch']);
    expect(delivered).toBeGreaterThan(RUNS * 150);
  }, 120_000);
});
