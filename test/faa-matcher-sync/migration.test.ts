import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createMatcherReconciler } from '../../lambda/faa-matcher-sync/reconcile';
import { contributionKey } from '../../lambda/faa-matcher-sync/keys';
import { toolTriggers } from '../../lambda/shared/trigger';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { countingDoc, deleteLink, i3Violations, linkRow, oldContributionRow, putLink, readState, silentLogger, type LinkRow } from './helpers';

/**
 * Contribution rows written by the previous (edge-triggered) version, attribute for attribute as
 * its repository's `ledgerPut` wrote them: a counted row (tuple attributes) or a tombstone
 * (no tuple, `expires_at` for TTL), both with the stream bookkeeping the new code ignores.
 */
describe('faa-matcher-sync reads the contribution rows the previous version wrote', () => {
  let table: TestTable;
  let requests: ReturnType<typeof countingDoc>;
  beforeAll(async () => {
    table = await createTestTable('matcher-migration');
    requests = countingDoc(table.endpoint);
  });
  afterAll(async () => {
    requests.destroy();
    await table.drop();
  });
  afterEach(async () => expect(await i3Violations(table.doc, table.tableName)).toEqual([]));

  const reconciler = () => createMatcherReconciler({ doc: requests.doc, tableName: table.tableName, logger: silentLogger(), sleep: async () => {} });
  const reconcile = async (link: LinkRow) => (await reconciler().reconcile(toolTriggers([link], 'backfill', 'migration')))[0]!;
  const put = (item: Record<string, unknown>) => table.doc.send(new PutCommand({ TableName: table.tableName, Item: item }));
  const contribution = async (link: LinkRow) =>
    (await table.doc.send(new GetCommand({ TableName: table.tableName, Key: contributionKey(link), ConsistentRead: true }))).Item;
  const counts = async () => (await readState(table.doc, table.tableName)).counts;

  let n = 0;
  const fresh = () => {
    n += 1;
    const A = { type_designator: `MIG${n}`, manufacturer: 'Cessna', model: '172' };
    const B = { type_designator: `MIG${n}`, manufacturer: 'Cessna', model: '182' };
    return { A, B, link: linkRow(`MIG${n}`, '1', A), keyA: `ICAO#MATCHER#MIG${n}|MFR#Cessna#MODEL#172`, keyB: `ICAO#MATCHER#MIG${n}|MFR#Cessna#MODEL#182` };
  };
  /** The state the old worker left: link counted at A, its row saying so. */
  const countedByOldWorker = async (t: ReturnType<typeof fresh>) => {
    await putLink(table.doc, table.tableName, t.link);
    await put(oldContributionRow(t.link, t.A));
    await put({ PK: `ICAO#MATCHER#${t.A.type_designator}`, SK: 'MFR#Cessna#MODEL#172', ...t.A, count: 1 });
  };

  it('an old counted row for an unchanged link: no write, the row is left as it was', async () => {
    const t = fresh();
    await countedByOldWorker(t);
    requests.reset();
    expect(await reconcile(t.link)).toMatchObject({ action: 'none', changed: false });
    expect(requests.counts).toEqual({ BatchGetItem: 1 });
    expect(await contribution(t.link)).toEqual(oldContributionRow(t.link, t.A));
  });

  it('an old counted row for a moved link: moved, and the row replaced by the new shape (conditioned as read)', async () => {
    const t = fresh();
    await countedByOldWorker(t);
    await putLink(table.doc, table.tableName, { ...t.link, ...t.B });
    expect(await reconcile(t.link)).toMatchObject({ action: 'move', changed: true });
    expect(await counts()).toMatchObject({ [t.keyB]: 1 });
    expect(await counts()).not.toHaveProperty(t.keyA);
    const row = await contribution(t.link);
    expect(row).toMatchObject({ ...t.B, tuple_sk: 'MFR#Cessna#MODEL#182' });
    for (const gone of ['seq_order', 'sequence_number', 'event_id', 'applied_at', 'expires_at']) expect(row).not.toHaveProperty(gone);
  });

  it('an old counted row for a deleted link: uncounted, the row deleted', async () => {
    const t = fresh();
    await countedByOldWorker(t);
    await deleteLink(table.doc, table.tableName, t.link);
    expect(await reconcile(t.link)).toMatchObject({ action: 'decrement' });
    expect(await contribution(t.link)).toBeUndefined();
  });

  it('an old tombstone for an absent link counts toward nothing and is left to expire (no write)', async () => {
    const t = fresh();
    const tombstone = oldContributionRow(t.link, null);
    await put(tombstone);
    requests.reset();
    expect(await reconcile(t.link)).toMatchObject({ action: 'none', changed: false });
    expect(requests.counts).toEqual({ BatchGetItem: 1 });
    expect(await contribution(t.link)).toEqual(tombstone);
    await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: contributionKey(t.link) }));
  });

  it('an old tombstone for a link that exists again: counted, the tombstone replaced (no expires_at)', async () => {
    const t = fresh();
    await put(oldContributionRow(t.link, null));
    await putLink(table.doc, table.tableName, t.link);
    expect(await reconcile(t.link)).toMatchObject({ action: 'increment' });
    expect(await counts()).toMatchObject({ [t.keyA]: 1 });
    expect(await contribution(t.link)).not.toHaveProperty('expires_at');
  });

  it('a tombstone that expires (TTL) between the read and the write: the condition as read fails, the re-read decides again', async () => {
    const t = fresh();
    await put(oldContributionRow(t.link, null));
    await putLink(table.doc, table.tableName, t.link);
    let expired = false;
    const r = createMatcherReconciler({
      doc: table.doc,
      tableName: table.tableName,
      logger: silentLogger(),
      sleep: async () => {},
      hooks: {
        afterRead: async () => {
          if (expired) return;
          expired = true;
          await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: contributionKey(t.link) }));
        },
      },
    });
    expect((await r.reconcile(toolTriggers([t.link], 'backfill', 'ttl')))[0]).toMatchObject({ action: 'increment', conditionalRetries: 1 });
    expect(await counts()).toMatchObject({ [t.keyA]: 1 });
  });
});
