import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { matcherFields } from '../../lambda/faa-matcher-sync/domain';
import { createMatcherHandler } from '../../lambda/faa-matcher-sync/handler';
import { contributionKey, matcherTupleKey } from '../../lambda/faa-matcher-sync/keys';
import { createMatcherReconciler, type MatcherHooks } from '../../lambda/faa-matcher-sync/reconcile';
import { prepareTakeover, releaseTakeover, TakeoverRefusedError } from '../../lambda/faa-matcher-sync/takeover';
import { toolTriggers } from '../../lambda/shared/trigger';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { deleteLink, i3Violations, linkRow, oldContributionRow, prng, putLink, readState, scanAll, silentLogger, type LinkRow } from './helpers';

const TUPLES = [
  { type_designator: 'TK1', manufacturer: 'Cessna', model: '172' },
  { type_designator: 'TK1', manufacturer: 'Cessna', model: '182' },
  { type_designator: 'TK2', manufacturer: 'Piper', model: 'PA-28' },
];
const tupleId = (t: (typeof TUPLES)[number]) => {
  const k = matcherTupleKey(t);
  return `${k.PK}|${k.SK}`;
};

/** Takeover from a worker that counted the links without contribution rows (DESIGN §5), on DynamoDB Local. */
describe('faa-matcher-sync takeover (prepare, backfill with the stream running, release)', () => {
  let table: TestTable;
  beforeEach(async () => {
    table = await createTestTable('matcher-takeover');
  });
  afterEach(() => table.drop());

  const logger = silentLogger();
  const deps = () => ({ doc: table.doc, tableName: table.tableName, logger, sleep: async () => {} });
  const handler = () => createMatcherHandler(deps());
  const deliver = async (...records: DynamoDBRecord[]) => expect((await handler()(streamEvent(...records))).batchItemFailures).toEqual([]);
  const put = (item: Record<string, unknown>) => table.doc.send(new PutCommand({ TableName: table.tableName, Item: item }));

  /** Links in the table, counted the way the old worker did: tuple rows only. `skew` adds to one count. */
  async function seedOldWorker(count: number, skew = 0): Promise<LinkRow[]> {
    const links = Array.from({ length: count }, (_, i) =>
      linkRow('TK', String(i), i % 7 === 6 ? { type_designator: 'TK1', manufacturer: ' ' } : TUPLES[i % TUPLES.length]!),
    );
    const counts = new Map<string, number>();
    for (const link of links) {
      await putLink(table.doc, table.tableName, link);
      const t = matcherFields(link);
      if (t) counts.set(JSON.stringify(t), (counts.get(JSON.stringify(t)) ?? 0) + 1);
    }
    let first = true;
    for (const [json, n] of counts) {
      const t = JSON.parse(json);
      await put({ ...matcherTupleKey(t), ...t, count: n + (first ? skew : 0) });
      first = false;
    }
    return links;
  }

  /** While legacy_count is on the rows: count = legacy_count + contribution rows naming the tuple. */
  async function legacyPlusContributions(): Promise<string[]> {
    const items = await scanAll(table.doc, table.tableName);
    const contributions = new Map<string, number>();
    for (const c of items.filter((i) => String(i.PK).startsWith('MATCHER#CONTRIB#'))) {
      const id = `${c.tuple_pk}|${c.tuple_sk}`;
      contributions.set(id, (contributions.get(id) ?? 0) + 1);
    }
    return items
      .filter((i) => String(i.PK).startsWith('ICAO#MATCHER#'))
      .filter((r) => r.count !== Number(r.legacy_count ?? 0) + (contributions.get(`${r.PK}|${r.SK}`) ?? 0))
      .map((r) => `${r.PK}|${r.SK}: count ${r.count}, legacy ${r.legacy_count}, contributions ${contributions.get(`${r.PK}|${r.SK}`) ?? 0}`);
  }

  function pauseAfterFirstRead(key: LinkRow) {
    let reached!: () => void;
    let release!: () => void;
    const atPause = new Promise<void>((r) => (reached = r));
    const released = new Promise<void>((r) => (release = r));
    let done = false;
    const hooks: MatcherHooks = {
      afterRead: async (k) => {
        if (done || k.SK !== key.SK) return;
        done = true;
        reached();
        await released;
      },
    };
    return { hooks, atPause, release };
  }

  it('links inserted, moved and deleted through the handler while the backfill reconciles every link: after release, I3 exact (even a skewed legacy count)', async () => {
    const links = await seedOldWorker(21, 2);
    expect(await prepareTakeover(deps())).toEqual({ tuples: 3, marked: 3, alreadyMarked: 0 });
    const rows = new Map(links.map((l) => [l.SK, l as LinkRow | null]));

    // (1) Backfill paused on links[0] (counted by the old worker, no contribution); the link is
    // deleted and the stream's reconcile finds nothing to do; the backfill must not count it.
    const p1 = pauseAfterFirstRead(links[0]!);
    const r1 = createMatcherReconciler({ ...deps(), hooks: p1.hooks }).reconcile(toolTriggers([links[0]!], 'backfill', 'takeover'));
    await p1.atPause;
    await deleteLink(table.doc, table.tableName, links[0]!);
    await deliver(removeRecord(links[0]!));
    rows.set(links[0]!.SK, null);
    p1.release();
    expect((await r1)[0]).toMatchObject({ action: 'none', conditionalRetries: 1 });

    // (2) Backfill paused on links[1]; the link moves and the stream counts it at its new tuple.
    const p2 = pauseAfterFirstRead(links[1]!);
    const r2 = createMatcherReconciler({ ...deps(), hooks: p2.hooks }).reconcile(toolTriggers([links[1]!], 'backfill', 'takeover'));
    await p2.atPause;
    const moved = { ...links[1]!, ...TUPLES[2]! };
    await putLink(table.doc, table.tableName, moved);
    await deliver(modifyRecord(links[1]!, moved));
    rows.set(moved.SK, moved);
    p2.release();
    expect((await r2)[0]).toMatchObject({ action: 'none', conditionalRetries: 1 });
    expect(await legacyPlusContributions()).toEqual([]);

    // (3) The rest of the backfill, concurrently with a randomised writer going through the handler.
    const random = prng(4242);
    const writer = async () => {
      for (let i = 0; i < 40; i += 1) {
        const id = Math.floor(random() * 30);
        const sk = linkRow('TK', String(id), {}).SK;
        const before = rows.get(sk) ?? null;
        if (before && random() < 0.3) {
          await deleteLink(table.doc, table.tableName, before);
          rows.set(sk, null);
          await deliver(removeRecord(before));
        } else {
          const after = linkRow('TK', String(id), TUPLES[Math.floor(random() * TUPLES.length)]!);
          await putLink(table.doc, table.tableName, after);
          rows.set(sk, after);
          await deliver(before ? modifyRecord(before, after) : insertRecord(after));
        }
      }
    };
    const backfill = async () => {
      const reconciler = createMatcherReconciler(deps());
      for (let i = 2; i < links.length; i += 5) await reconciler.reconcile(toolTriggers(links.slice(i, i + 5), 'backfill', 'takeover'));
    };
    await Promise.all([writer(), backfill()]);
    expect(await legacyPlusContributions()).toEqual([]);
    expect(await i3Violations(table.doc, table.tableName)).not.toEqual([]); // legacy counts still on the rows

    const report = await releaseTakeover(deps());
    expect(report.released).toBe(3);
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
  });

  it('prepare refuses, writing nothing, when contribution rows exist (this matcher already counts)', async () => {
    const [link] = await seedOldWorker(3);
    await put({ ...contributionKey(link!), link_pk: link!.PK, link_sk: link!.SK, ...TUPLES[0]! });
    await expect(prepareTakeover(deps())).rejects.toThrow(TakeoverRefusedError);
    await expect(prepareTakeover(deps())).rejects.toThrow(`1 contribution row(s) exist (first: ${contributionKey(link!).PK}`);
    expect((await readState(table.doc, table.tableName)).tupleRows.filter((r) => 'legacy_count' in r)).toEqual([]);
  });

  it('upgrade from 0.1.0 after its own takeover (some links counted without contribution rows): prepare subtracting the existing contributions, backfill, release: I3 exact', async () => {
    const links = await seedOldWorker(12);
    // 0.1.0 kept contribution rows for the links it saw change (here every third one), a
    // tombstone for a link it saw removed, and counted the rest only in the tuple rows.
    const withRows = links.filter((_, i) => i % 3 === 0).filter((l) => matcherFields(l) !== null);
    for (const link of withRows) await put(oldContributionRow(link, matcherFields(link)));
    await put(oldContributionRow(linkRow('TK', 'gone', TUPLES[0]!), null));
    await expect(prepareTakeover(deps())).rejects.toThrow(TakeoverRefusedError);

    await prepareTakeover(deps(), { existingContributions: 'subtract' });
    expect(await legacyPlusContributions()).toEqual([]);
    await createMatcherReconciler(deps()).reconcile(toolTriggers(links, 'backfill', 'upgrade'));
    expect(await legacyPlusContributions()).toEqual([]);
    await releaseTakeover(deps());
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
  });

  it('prepare refuses, subtracting, a tuple that counts fewer links than its contribution rows name', async () => {
    const [link] = await seedOldWorker(1);
    await put(oldContributionRow(link!, matcherFields(link!)));
    await put(oldContributionRow(linkRow('TK', 'x', TUPLES[0]!), TUPLES[0]!));
    await expect(prepareTakeover(deps(), { existingContributions: 'subtract' })).rejects.toThrow('count=1 contributions=2');
    expect((await readState(table.doc, table.tableName)).tupleRows.filter((r) => 'legacy_count' in r)).toEqual([]);
  });

  it('prepare refuses a tuple row whose count is not a positive integer, naming it', async () => {
    await seedOldWorker(3);
    await put({ PK: 'ICAO#MATCHER#TK9', SK: 'MFR#X#MODEL#Y', count: 0 });
    await expect(prepareTakeover(deps())).rejects.toThrow('ICAO#MATCHER#TK9 MFR#X#MODEL#Y count=0');
  });

  it('prepare twice is idempotent: a row keeps the legacy_count of the first run', async () => {
    await seedOldWorker(6);
    await prepareTakeover(deps());
    const key = matcherTupleKey(TUPLES[0]!);
    // A reconcile counts a new link in between (as after deployment): count moves, legacy_count must not.
    const extra = linkRow('TK', '99', TUPLES[0]!);
    await putLink(table.doc, table.tableName, extra);
    await table.doc.send(new UpdateCommand({ TableName: table.tableName, Key: key, UpdateExpression: 'ADD #c :one', ExpressionAttributeNames: { '#c': 'count' }, ExpressionAttributeValues: { ':one': 1 } }));
    expect(await prepareTakeover(deps())).toEqual({ tuples: 3, marked: 0, alreadyMarked: 3 });
    const row = (await readState(table.doc, table.tableName)).tupleRows.find((r) => r.PK === key.PK && r.SK === key.SK);
    expect(row).toMatchObject({ count: 3, legacy_count: 2 });
  });

  it('release is resumable: interrupted after its first write, a second run finishes exactly', async () => {
    const links = await seedOldWorker(9);
    await prepareTakeover(deps());
    await createMatcherReconciler(deps()).reconcile(toolTriggers(links, 'backfill', 'takeover'));
    const real = table.doc.send.bind(table.doc) as (c: unknown) => Promise<unknown>;
    let writes = 0;
    const spy = jest.spyOn(table.doc, 'send').mockImplementation((async (command: unknown) => {
      if ((command instanceof UpdateCommand || command instanceof DeleteCommand) && ++writes === 2) throw new Error('interrupted (injected)');
      return real(command);
    }) as never);
    await expect(releaseTakeover(deps())).rejects.toThrow('interrupted');
    spy.mockRestore();
    expect(await releaseTakeover(deps())).toMatchObject({ released: 2 });
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
  });

  it('release racing a reconcile on the same tuple row: its condition fails, it re-reads, the count stays exact', async () => {
    const links = await seedOldWorker(3);
    await prepareTakeover(deps());
    await createMatcherReconciler(deps()).reconcile(toolTriggers(links, 'backfill', 'takeover'));
    const newcomer = linkRow('TK', '50', TUPLES[0]!);
    await putLink(table.doc, table.tableName, newcomer);
    const real = table.doc.send.bind(table.doc) as (c: unknown) => Promise<unknown>;
    let raced = false;
    const spy = jest.spyOn(table.doc, 'send').mockImplementation((async (command: unknown) => {
      if (!raced && (command instanceof UpdateCommand || command instanceof DeleteCommand)) {
        raced = true;
        // Between release's scan and its first write, the stream counts a new link there.
        await deliver(insertRecord(newcomer));
      }
      return real(command);
    }) as never);
    try {
      expect(await releaseTakeover(deps())).toMatchObject({ released: 3, conditionalRetries: 1 });
    } finally {
      spy.mockRestore();
    }
    expect((await readState(table.doc, table.tableName)).counts[tupleId(TUPLES[0]!)]).toBe(2);
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
  });
});
