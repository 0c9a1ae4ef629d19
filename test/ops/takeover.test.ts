import { GetCommand } from '@aws-sdk/lib-dynamodb';
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
    const env = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    // The CLI resolves credentials and region the SDK's standard way: from the environment here.
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      expect(await main(['takeover', 'prepare', '--table', table.tableName, '--endpoint', table.endpoint, '--json'], io, env)).toBe(0);
    } finally {
      process.env = saved;
    }
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
    expect(audit.findings).toEqual([expect.objectContaining({ invariant: 'I3', problem: 'count 2, links 1' })]);

    await putAll(table, [contribution('1', T1)]);
    await expect(prepareTakeover({ doc: table.doc, tableName: table.tableName, logger: quietLogger() })).rejects.toBeInstanceOf(TakeoverRefusedError);
  });

  it('takeover prepare --subtract-contributions (upgrade from 0.1.0 after its own takeover): legacy = count minus contribution rows, then exact', async () => {
    // Links 1 and 2 on T1: link 1 has a 0.1.0 contribution row, link 2 was counted only in the tuple.
    await putAll(table, [link('1'), link('2'), tupleRow(T1, 2), contribution('1', T1)]);
    const env = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const args = ['takeover', 'prepare', '--table', table.tableName, '--endpoint', table.endpoint, '--json'];
      expect(await main(args, captureIo(), env)).toBe(1); // refused (one line): contribution rows exist
      expect(await main([...args, '--subtract-contributions'], captureIo(), env)).toBe(0);
    } finally {
      process.env = saved;
    }
    expect(await count(T1)).toMatchObject({ count: 2, legacy_count: 1 });
    expect((await backfill(true)).takeover).toMatchObject({ released: 1 });
    expect(await count(T1)).toMatchObject({ count: 2 });
    expect((await runAudit({ client: table.client, tableName: table.tableName, segments: 2, only: new Set(['I3']) })).findings).toEqual([]);
  });
});
