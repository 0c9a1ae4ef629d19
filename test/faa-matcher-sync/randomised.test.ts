import type { DynamoDBRecord } from 'aws-lambda';
import { createMatcherHandler } from '../../lambda/faa-matcher-sync/handler';
import { createMatcherReconciler } from '../../lambda/faa-matcher-sync/reconcile';
import { toolTriggers } from '../../lambda/shared/trigger';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { deleteLink, i3Violations, linkRow, prng, putLink, silentLogger, type LinkRow } from './helpers';

/**
 * Randomised, model-based (DESIGN §9 properties): a writer changes link rows in DynamoDB Local
 * while three "shards" deliver the stream records concurrently through the real handler. A
 * fraction of the records is never delivered; the rest arrive late, out of order, duplicated, or
 * again long after (replays of any age). Then one trigger per key that lost a record (or, the
 * variant, a trigger for every link): I3 must hold exactly. Seed: MATCHER_SEED (default fixed).
 */
const SEED = Number(process.env.MATCHER_SEED ?? 20_261_123);
const OPS = 200;
const LINKS = 16;
const LOSS = 0.15;

const TUPLES = [
  { type_designator: 'RND1', manufacturer: 'Cessna', model: '172' },
  { type_designator: 'RND1', manufacturer: 'Cessna', model: '172S' },
  { type_designator: 'RND2', manufacturer: 'Piper', model: 'PA-28-181' },
];

describe('faa-matcher-sync: lost, late, duplicated and replayed records, then triggers (randomised)', () => {
  let table: TestTable;
  beforeEach(async () => {
    table = await createTestTable('matcher-rnd');
  });
  afterEach(() => table.drop());

  async function simulate(seed: number) {
    const random = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const fields = (): Record<string, unknown> => {
      if (random() < 0.2) return pick([{ type_designator: 'RND1', manufacturer: ' ', model: '172' }, { type_designator: 'RND2', model: 7 }, {}]);
      const t = pick(TUPLES);
      return { ...t, type_designator: random() < 0.3 ? ` ${t.type_designator.toLowerCase()}` : t.type_designator };
    };
    const handler = createMatcherHandler({ doc: table.doc, tableName: table.tableName, logger: silentLogger(), sleep: async () => {} });
    const rows: (LinkRow | null)[] = Array.from({ length: LINKS }, () => null);
    const everKey = (i: number) => linkRow('RND', String(i), {});
    const lost = new Set<number>();
    let pending: DynamoDBRecord[] = [];
    const delivered: DynamoDBRecord[] = [];
    const failures: unknown[] = [];

    const write = async () => {
      const id = Math.floor(random() * LINKS);
      const before = rows[id] ?? null;
      let record: DynamoDBRecord;
      if (before !== null && random() < 0.3) {
        await deleteLink(table.doc, table.tableName, before);
        rows[id] = null;
        record = removeRecord(before);
      } else {
        const after = linkRow('RND', String(id), fields());
        await putLink(table.doc, table.tableName, after);
        rows[id] = after;
        record = before ? modifyRecord(before, after) : insertRecord(after);
      }
      if (random() < LOSS) lost.add(id);
      else return record;
      return null;
    };

    const deliver = async (records: DynamoDBRecord[]) => {
      const shards: DynamoDBRecord[][] = [[], [], []];
      for (const r of records) shards[Math.floor(random() * 3)]!.push(r);
      await Promise.all(
        shards.filter((s) => s.length > 0).map(async (batch) => {
          const response = await handler(streamEvent(...batch));
          if (response.batchItemFailures.length > 0) failures.push(response.batchItemFailures);
        }),
      );
      delivered.push(...records);
    };

    for (let op = 0; op < OPS; ) {
      // This round's deliveries: a random part of what is pending (the rest arrives later), shuffled,
      // some duplicated, plus the odd replay of a record delivered long ago.
      const now = pending.filter(() => random() < 0.6);
      pending = pending.filter((r) => !now.includes(r));
      const batch = now.flatMap((r) => (random() < 0.1 ? [r, r] : [r])).sort(() => random() - 0.5);
      if (delivered.length > 0 && random() < 0.3) batch.push(pick(delivered));
      const writes = 1 + Math.floor(random() * 3);
      // The writer runs concurrently with the deliveries; its records become pending afterwards.
      const [written] = await Promise.all([
        (async () => {
          const out: DynamoDBRecord[] = [];
          for (let i = 0; i < writes; i += 1) {
            const r = await write();
            if (r) out.push(r);
          }
          return out;
        })(),
        deliver(batch),
      ]);
      pending.push(...written);
      op += writes;
    }
    await deliver(pending.sort(() => random() - 0.5));
    expect(failures).toEqual([]);
    return { lost, everKey };
  }

  const reconciler = () => createMatcherReconciler({ doc: table.doc, tableName: table.tableName, logger: silentLogger(), sleep: async () => {} });

  it(`one trigger per key that lost a record restores I3 exactly (seed ${SEED})`, async () => {
    const { lost, everKey } = await simulate(SEED);
    const before = await i3Violations(table.doc, table.tableName);
    // The losses did break the counts (this seed), so the triggers below are what repairs them.
    if (!process.env.MATCHER_SEED) expect(before.length).toBeGreaterThan(0);
    const results = await reconciler().reconcile(toolTriggers([...lost].map(everKey), 'repair', `seed-${SEED}`));
    expect(results).toHaveLength(lost.size);
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
  });

  it(`a trigger for every link (backfill) restores I3 exactly, and a second backfill writes nothing (seed ${SEED + 1})`, async () => {
    const { everKey } = await simulate(SEED + 1);
    const keys = Array.from({ length: LINKS }, (_, i) => everKey(i));
    await reconciler().reconcile(toolTriggers(keys, 'backfill', 'all'));
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
    const again = await reconciler().reconcile(toolTriggers(keys, 'backfill', 'again'));
    expect(again.filter((r) => r.changed)).toEqual([]);
  });
});
