import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { matcherTupleKey } from '../../lambda/faa-matcher-sync/keys';
import { prepareTakeover, TakeoverRefusedError } from '../../lambda/faa-matcher-sync/takeover';
import { runAudit } from '../../ops/audit';
import { runBackfill } from '../../ops/backfill';
import { main } from '../../ops/cli';
import { createReconcilers } from '../../ops/reconcile';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { captureIo, contribution, link, putAll, quietLogger, T1, T2, tupleRow } from './support';

describe('matcher takeover: ops takeover prepare, then ops backfill --takeover', () => {
  let table: TestTable;
  beforeEach(async () => {
    table = await createTestTable('ops-takeover');
  });
  afterEach(async () => table.drop());

  const count = async (t: typeof T1) => (await table.doc.send(new GetCommand({ TableName: table.tableName, Key: matcherTupleKey(t), ConsistentRead: true }))).Item;
  const backfill = (takeover: boolean) =>
    runBackfill({
      client: table.client, doc: table.doc, tableName: table.tableName, logger: quietLogger(), run: 'takeover-1', segments: 2, takeover,
      reconcilers: createReconcilers({ doc: table.doc, tableName: table.tableName, logger: quietLogger(), subsystems: ['faa-matcher-sync'] }),
    });

  it("replaces the old worker's counts (even wrong ones) with exactly this matcher's, without counting a link twice", async () => {
    // The old worker counted 3 links: T1 twice, T2 once, and (wrongly) T2 once more.
    await putAll(table, [link('1'), link('2'), link('3', T2), tupleRow(T1, 2), tupleRow(T2, 2)]);
    const io = captureIo();
    // With --endpoint the CLI needs no AWS configuration; prepare reads in parallel segments, rate-limited.
    expect(await main(['takeover', 'prepare', '--table', table.tableName, '--endpoint', table.endpoint, '--segments', '3', '--rate', '1000', '--json'], io, {})).toBe(0);
    expect(io.err).toEqual([]);
    expect(JSON.parse(io.out.join(''))).toMatchObject({ tuples: 2, marked: 2 });
    expect(await count(T2)).toMatchObject({ count: 2, legacy_count: 2 });

    const report = await backfill(true);
    expect(report.complete).toBe(true);
    expect(report.takeover).toMatchObject({ released: 2 });
    expect((await count(T1))).toMatchObject({ count: 2 });
    expect((await count(T1))!.legacy_count).toBeUndefined();
    expect(await count(T2)).toMatchObject({ count: 1 });
    expect((await runAudit({ client: table.client, tableName: table.tableName, segments: 2, only: new Set(['I3']) })).findings).toEqual([]);
  });

  it('without --takeover the legacy counts stay (and the audit says so); prepare refuses once this matcher counts', async () => {
    await putAll(table, [link('1'), tupleRow(T1, 1)]);
    await prepareTakeover({ doc: table.doc, tableName: table.tableName, logger: quietLogger() });
    await backfill(false);
    expect(await count(T1)).toMatchObject({ count: 2, legacy_count: 1 });
    const audit = await runAudit({ client: table.client, tableName: table.tableName, segments: 2, only: new Set(['I3']) });
    expect(audit.findings).toEqual([expect.objectContaining({ invariant: 'I3', problem: expect.stringMatching(/^count 2\b.*\blinks 1$/) })]);

    await putAll(table, [contribution('1', T1)]);
    await expect(prepareTakeover({ doc: table.doc, tableName: table.tableName, logger: quietLogger() })).rejects.toBeInstanceOf(TakeoverRefusedError);
  });

  it('takeover prepare --subtract-contributions (upgrade from 0.1.0 after its own takeover): legacy = count minus contribution rows, then exact', async () => {
    // Links 1 and 2 on T1: link 1 has a 0.1.0 contribution row, link 2 was counted only in the tuple.
    await putAll(table, [link('1'), link('2'), tupleRow(T1, 2), contribution('1', T1)]);
    const args = ['takeover', 'prepare', '--table', table.tableName, '--endpoint', table.endpoint, '--json'];
    const refused = captureIo();
    expect(await main(args, refused, {})).toBe(1);
    expect(refused.err).toEqual([
      `ops: takeover refused: 1 contribution row(s) exist (first: ${contribution('1', T1).PK} ${contribution('1', T1).SK}); faa-matcher-sync already counts these links, a takeover would count them twice\n`,
    ]);
    expect(await main([...args, '--subtract-contributions'], captureIo(), {})).toBe(0);
    expect(await count(T1)).toMatchObject({ count: 2, legacy_count: 1 });
    expect((await backfill(true)).takeover).toMatchObject({ released: 1 });
    expect(await count(T1)).toMatchObject({ count: 2 });
    expect((await runAudit({ client: table.client, tableName: table.tableName, segments: 2, only: new Set(['I3']) })).findings).toEqual([]);
  });

  it('a TransactionConflict on a tuple row (a matcher transaction holds it) is retried with backoff, not the end of the release', async () => {
    await putAll(table, [link('1'), link('2', T2), tupleRow(T1, 1), tupleRow(T2, 1)]);
    await prepareTakeover({ doc: table.doc, tableName: table.tableName, logger: quietLogger() });
    const real = table.doc.send.bind(table.doc) as (c: unknown) => Promise<unknown>;
    let conflicts = 0;
    const sleeps: number[] = [];
    const spy = jest.spyOn(table.doc, 'send').mockImplementation((async (command: unknown) => {
      // The release's writes (conditioned on legacy_count), not the reconciles before them.
      const releasing = (command instanceof UpdateCommand || command instanceof DeleteCommand) && String(command.input.ConditionExpression).includes('#legacy = :legacy');
      if (releasing && conflicts < 2) {
        conflicts += 1;
        throw Object.assign(new Error('Transaction is ongoing for the item'), { name: 'TransactionConflictException' });
      }
      return real(command);
    }) as never);
    try {
      const report = await runBackfill({
        client: table.client, doc: table.doc, tableName: table.tableName, logger: quietLogger(), run: 'takeover-tc', segments: 2, takeover: true,
        reconcilers: createReconcilers({ doc: table.doc, tableName: table.tableName, logger: quietLogger(), subsystems: ['faa-matcher-sync'] }),
        release: { sleep: async (ms) => void sleeps.push(ms) },
      });
      expect(report.takeover).toMatchObject({ released: 2, transientRetries: 2, complete: true });
    } finally {
      spy.mockRestore();
    }
    expect(sleeps).toHaveLength(2);
    expect(await count(T1)).toEqual(expect.objectContaining({ count: 1 }));
    expect((await runAudit({ client: table.client, tableName: table.tableName, segments: 2, only: new Set(['I3']) })).findings).toEqual([]);
  });
});
