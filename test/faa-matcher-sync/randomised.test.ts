import type { DynamoDBRecord } from 'aws-lambda';
import { matcherFields } from '../../lambda/faa-matcher-sync/domain';
import { createMatcherHandler } from '../../lambda/faa-matcher-sync/handler';
import { matcherTupleKey } from '../../lambda/faa-matcher-sync/keys';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { linkRow, prng, readState, silentLogger, type LinkRow } from './helpers';

/**
 * Model-based, randomised: a model of the link rows produces the stream records (with the images a
 * NEW_AND_OLD_IMAGES stream would carry), several "shards" deliver them concurrently through the
 * real handler with event-source-mapping-like retries (rewinds to an earlier record, duplicated
 * records, stale single records), and the counts and ledger live in DynamoDB Local. At the end
 * I3 must hold exactly. Seed: MATCHER_SEED (default fixed), reported in every failure message.
 */
const SEED = Number(process.env.MATCHER_SEED ?? 20_260_523);
const EVENTS = 2_000;
const LINKS = 30;
const SHARDS = 3;

const TUPLES = [
  { type_designator: 'C172', manufacturer: 'Cessna', model: '172' },
  { type_designator: 'C172', manufacturer: 'Cessna', model: '172S' },
  { type_designator: 'PA28', manufacturer: 'Piper', model: 'PA-28-181' },
  { type_designator: 'B738', manufacturer: 'Boeing', model: '737-8AS' },
];

interface Stream {
  records: DynamoDBRecord[];
}

function generate(random: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const pad = () => pick(['', ' ', '  ', '\t']);
  const fields = (): Record<string, unknown> => {
    if (random() < 0.2) {
      const t = pick(TUPLES);
      return pick([
        { type_designator: t.type_designator, manufacturer: t.manufacturer },
        { type_designator: t.type_designator, manufacturer: '  ', model: t.model },
        { type_designator: t.type_designator, manufacturer: t.manufacturer, model: 737 },
        {},
      ]);
    }
    const t = pick(TUPLES);
    const td = random() < 0.3 ? t.type_designator.toLowerCase() : t.type_designator;
    return { type_designator: pad() + td + pad(), manufacturer: pad() + t.manufacturer, model: t.model + pad() };
  };

  const rows: (LinkRow | null)[] = Array.from({ length: LINKS }, () => null);
  const streams: Stream[] = Array.from({ length: SHARDS }, () => ({ records: [] }));
  // Starts short and crosses a digit boundary, so numeric (not string) ordering is exercised.
  let sequence = 9_000n;
  for (let i = 0; i < EVENTS; i += 1) {
    const id = Math.floor(random() * LINKS);
    sequence += BigInt(1 + Math.floor(random() * 3));
    const options = { sequenceNumber: sequence.toString(), eventID: `r-${sequence}` };
    const before = rows[id] ?? null;
    let record: DynamoDBRecord;
    if (before === null) {
      const row = linkRow('RAND', `L${id}`, fields());
      record = insertRecord(row, options);
      rows[id] = row;
    } else {
      const r = random();
      if (r < 0.15) {
        record = removeRecord(before, options);
        rows[id] = null;
      } else {
        const after =
          r < 0.35
            ? { ...before, note: `n${i}` } // matcher fields untouched
            : linkRow('RAND', `L${id}`, fields());
        record = modifyRecord(before, after, options);
        rows[id] = after;
      }
    }
    streams[id % SHARDS]!.records.push(record);
  }
  return { rows, streams };
}

describe('faa-matcher-sync randomised (I3 under duplicates and replays)', () => {
  let table: TestTable;
  beforeAll(async () => {
    table = await createTestTable('matcher-rand');
  });
  afterAll(() => table.drop());

  it(`keeps every count equal to the links carrying the tuple (seed ${SEED})`, async () => {
    const random = prng(SEED);
    const { rows, streams } = generate(random);
    let replays = 0;
    let deliveries = 0;

    const deliverShard = async (stream: Stream, shardRandom: () => number) => {
      const logger = silentLogger();
      const info = logger.info.bind(logger);
      jest.spyOn(logger, 'info').mockImplementation((message: unknown, ...rest: unknown[]) => {
        if (message === 'replayed record: already applied, no-op') replays += 1;
        return (info as (...a: unknown[]) => void)(message, ...rest);
      });
      const handler = createMatcherHandler({
        doc: table.doc,
        tableName: table.tableName,
        logger,
        // Shards contend for the same tuple rows: generous attempts, tiny real delays.
        retry: { maxAttempts: 50, baseDelayMs: 1, maxDelayMs: 20 },
      });
      const { records } = stream;
      let checkpoint = 0;
      while (checkpoint < records.length) {
        const size = 1 + Math.floor(shardRandom() * 25);
        const batch = records.slice(checkpoint, checkpoint + size);
        if (shardRandom() < 0.15) {
          // A duplicate delivery inside the batch.
          const at = Math.floor(shardRandom() * batch.length);
          batch.splice(at + 1, 0, batch[at]!);
        }
        if (shardRandom() < 0.05 && checkpoint > 0) {
          // A stale record delivered alone, long after newer ones of its link landed.
          const stale = records[Math.floor(shardRandom() * checkpoint)]!;
          const r = await handler(streamEvent(stale));
          expect({ seed: SEED, failures: r.batchItemFailures }).toEqual({ seed: SEED, failures: [] });
        }
        const response = await handler(streamEvent(...batch));
        deliveries += batch.length;
        expect({ seed: SEED, failures: response.batchItemFailures }).toEqual({ seed: SEED, failures: [] });
        if (shardRandom() < 0.25) {
          // Retry/bisect/timeout-after-side-effects: resume from an earlier record (up to 40 back).
          checkpoint = Math.max(0, checkpoint + size - 1 - Math.floor(shardRandom() * 40));
        } else {
          checkpoint += size;
        }
      }
    };

    await Promise.all(streams.map((s, i) => deliverShard(s, prng(SEED * 31 + i))));

    // What the table of links says now.
    const expected: Record<string, number> = {};
    for (const row of rows) {
      const tuple = row && matcherFields(row);
      if (!tuple) continue;
      const key = matcherTupleKey(tuple);
      expected[`${key.PK}|${key.SK}`] = (expected[`${key.PK}|${key.SK}`] ?? 0) + 1;
    }
    const state = await readState(table.doc, table.tableName);

    expect({ seed: SEED, counts: state.counts }).toEqual({ seed: SEED, counts: expected });
    expect(state.tupleRows.filter((r) => !(typeof r.count === 'number' && r.count > 0))).toEqual([]);
    for (const r of state.tupleRows) {
      expect(matcherTupleKey({ type_designator: r.type_designator as string, manufacturer: r.manufacturer as string, model: r.model as string })).toEqual({ PK: r.PK, SK: r.SK });
    }
    // The ledger agrees with the links, link by link.
    rows.forEach((row, id) => {
      const sk = linkRow('RAND', `L${id}`, {}).SK;
      const tuple = row && matcherFields(row);
      const contribution = state.contributions[sk];
      const carried = contribution?.tuple_pk ? `${contribution.tuple_pk}|${contribution.tuple_sk}` : null;
      const key = tuple && matcherTupleKey(tuple);
      expect({ seed: SEED, sk, carried }).toEqual({ seed: SEED, sk, carried: key ? `${key.PK}|${key.SK}` : null });
    });

    if (process.env.MATCHER_STATS) console.log({ deliveries, replays, tuples: Object.keys(state.counts).length, counts: state.counts });
    // The run really exercised replays and duplicates, and not just a few.
    expect(deliveries).toBeGreaterThan(EVENTS * 1.2);
    expect(replays).toBeGreaterThan(EVENTS * 0.1);
  });
});
