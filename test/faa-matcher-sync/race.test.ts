import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import type { RowKeys } from '../../lambda/shared/key-rules';
import { createMatcherHandler } from '../../lambda/faa-matcher-sync/handler';
import { createMatcherReconciler, type MatcherHooks } from '../../lambda/faa-matcher-sync/reconcile';
import type { LinkState } from '../../lambda/faa-matcher-sync/repository';
import { toolTriggers } from '../../lambda/shared/trigger';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { countingDoc, deleteLink, i3Violations, linkRow, putLink, readState, silentLogger, type LinkRow } from './helpers';

/** Pauses the first read of one key until released: the window between a reconcile's reads and its write. */
function pauseAfterFirstRead(key: RowKeys) {
  let reached!: (state: LinkState) => void;
  let release!: () => void;
  const atPause = new Promise<LinkState>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let paused = false;
  const hooks: MatcherHooks = {
    afterRead: async (k, state) => {
      if (paused || k.PK !== key.PK || k.SK !== key.SK) return;
      paused = true;
      reached(state);
      await released;
    },
  };
  return { hooks, atPause, release };
}

/**
 * Deterministic interleavings (DESIGN §9): a backfill-style reconcile is paused after its reads,
 * the link changes and the stream handler reconciles it, then the backfill resumes.
 */
describe('faa-matcher-sync races between a tool reconcile and the stream handler', () => {
  let table: TestTable;
  let requests: ReturnType<typeof countingDoc>;
  beforeAll(async () => {
    table = await createTestTable('matcher-race');
    requests = countingDoc(table.endpoint);
  });
  afterAll(async () => {
    requests.destroy();
    await table.drop();
  });
  afterEach(async () => expect(await i3Violations(table.doc, table.tableName)).toEqual([]));

  const logger = silentLogger();
  const handler = () => createMatcherHandler({ doc: requests.doc, tableName: table.tableName, logger, sleep: async () => {} });
  const backfill = (hooks: MatcherHooks) =>
    createMatcherReconciler({ doc: table.doc, tableName: table.tableName, logger, sleep: async () => {}, hooks });
  const counts = async () => (await readState(table.doc, table.tableName)).counts;

  let n = 0;
  const link = (fields: Record<string, unknown>): LinkRow => linkRow(`RACE${++n}`, '1', fields);
  const A = { type_designator: 'RACEA', manufacturer: 'Cessna', model: '172' };
  const B = { type_designator: 'RACEB', manufacturer: 'Piper', model: 'PA-28' };
  const keyA = 'ICAO#MATCHER#RACEA|MFR#Cessna#MODEL#172';
  const keyB = 'ICAO#MATCHER#RACEB|MFR#Piper#MODEL#PA-28';

  it('DESIGN §9 counter-example: backfill read link=A, contribution=none; the link is deleted and the stream finds nothing to do; the backfill write fails its link check, re-reads, and A is not counted', async () => {
    const l = link(A);
    await putLink(table.doc, table.tableName, l);
    const pause = pauseAfterFirstRead(l);
    const running = backfill(pause.hooks).reconcile(toolTriggers([l], 'backfill', 'race-1'));
    const seen = await pause.atPause;
    expect(seen.desired).toEqual(A);
    expect(seen.contribution).toEqual({ kind: 'absent' });

    await deleteLink(table.doc, table.tableName, l);
    requests.reset();
    expect((await handler()(streamEvent(removeRecord(l)))).batchItemFailures).toEqual([]);
    expect(requests.counts).toEqual({ BatchGetItem: 1 }); // the stream reconcile wrote nothing

    pause.release();
    const [result] = await running;
    expect(result).toMatchObject({ action: 'none', changed: false, transactions: 1, conditionalRetries: 1 });
    expect(await counts()).not.toHaveProperty(keyA);
  });

  it('backfill read link=A, contribution=none; the link moves to B and the stream counts it there; the backfill fails its contribution check and re-reads: A 0, B 1', async () => {
    const l = link(A);
    const moved = { ...l, ...B };
    await putLink(table.doc, table.tableName, l);
    const pause = pauseAfterFirstRead(l);
    const running = backfill(pause.hooks).reconcile(toolTriggers([l], 'backfill', 'race-2'));
    await pause.atPause;
    await putLink(table.doc, table.tableName, moved);
    expect((await handler()(streamEvent(modifyRecord(l, moved)))).batchItemFailures).toEqual([]);
    pause.release();
    expect((await running)[0]).toMatchObject({ action: 'none', conditionalRetries: 1 });
    const c = await counts();
    expect(c[keyA]).toBeUndefined();
    expect(c[keyB]).toBe(1);
    await deleteLink(table.doc, table.tableName, moved);
    await handler()(streamEvent(removeRecord(moved)));
  });

  it('a link re-created with the same fields while a reconcile of its delete is paused: counted once', async () => {
    const l = link(A);
    await putLink(table.doc, table.tableName, l);
    await handler()(streamEvent(insertRecord(l)));
    await deleteLink(table.doc, table.tableName, l);
    const pause = pauseAfterFirstRead(l);
    const running = backfill(pause.hooks).reconcile(toolTriggers([l], 'repair', 'race-3'));
    expect((await pause.atPause).desired).toBeNull();
    await putLink(table.doc, table.tableName, { ...l, note: 'recreated' });
    pause.release();
    // Link check fails (it exists again): re-read, the link counts where it is recorded: nothing to do.
    expect((await running)[0]).toMatchObject({ action: 'none', conditionalRetries: 1 });
    expect((await counts())[keyA]).toBe(1);
    await deleteLink(table.doc, table.tableName, l);
    await handler()(streamEvent(removeRecord(l)));
  });

  it('two reconciles of the same unchanged link (backfill and stream) both read contribution=none: the second fails its contribution check, counted once', async () => {
    const l = link(A);
    await putLink(table.doc, table.tableName, l);
    const pause = pauseAfterFirstRead(l);
    const running = backfill(pause.hooks).reconcile(toolTriggers([l], 'backfill', 'race-dup'));
    expect((await pause.atPause).contribution).toEqual({ kind: 'absent' });
    expect((await handler()(streamEvent(insertRecord(l)))).batchItemFailures).toEqual([]);
    pause.release();
    expect((await running)[0]).toMatchObject({ action: 'none', conditionalRetries: 1 });
    expect((await counts())[keyA]).toBe(1);
    await deleteLink(table.doc, table.tableName, l);
    await handler()(streamEvent(removeRecord(l)));
  });

  it('the last two links of a tuple deleted concurrently: one ADD -1, then the Delete at count 1 (learned from the failed condition, no extra read)', async () => {
    const l1 = link(A);
    const l2 = link(A);
    for (const l of [l1, l2]) await putLink(table.doc, table.tableName, l);
    await handler()(streamEvent(insertRecord(l1), insertRecord(l2)));
    expect((await counts())[keyA]).toBe(2);
    for (const l of [l1, l2]) await deleteLink(table.doc, table.tableName, l);
    const pause = pauseAfterFirstRead(l1);
    const running = backfill(pause.hooks).reconcile(toolTriggers([l1], 'backfill', 'race-4'));
    await pause.atPause;
    await handler()(streamEvent(removeRecord(l2))); // count 2 -> 1
    pause.release();
    expect((await running)[0]).toMatchObject({ action: 'decrement', transactions: 2, conditionalRetries: 0 });
    expect(await counts()).not.toHaveProperty(keyA);
  });

  it('an increment landing between the failed ADD -1 and the Delete: the Delete fails on count 2, the ADD -1 follows', async () => {
    const l1 = link(A);
    const l2 = link(A);
    await putLink(table.doc, table.tableName, l1);
    await handler()(streamEvent(insertRecord(l1)));
    await deleteLink(table.doc, table.tableName, l1);
    await putLink(table.doc, table.tableName, l2);
    const doc = table.doc;
    const real = doc.send.bind(doc) as (c: unknown) => Promise<unknown>;
    let transactions = 0;
    const spy = jest.spyOn(doc, 'send').mockImplementation((async (command: unknown) => {
      if (command instanceof TransactWriteItemsCommand && ++transactions === 2) {
        // Just before the Delete form goes out, another link is counted at A.
        expect((await handler()(streamEvent(insertRecord(l2)))).batchItemFailures).toEqual([]);
      }
      return real(command);
    }) as never);
    try {
      const [result] = await backfill({}).reconcile(toolTriggers([l1], 'backfill', 'race-5'));
      expect(result).toMatchObject({ action: 'decrement', transactions: 3 });
    } finally {
      spy.mockRestore();
    }
    expect((await counts())[keyA]).toBe(1);
    await deleteLink(table.doc, table.tableName, l2);
    await handler()(streamEvent(removeRecord(l2)));
  });
});
