import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { contributionKey, matcherTupleKey } from '../../lambda/faa-matcher-sync/keys';
import { recountPlan, recountTuples, type ContributionScan, type Fence } from '../../lambda/faa-matcher-sync/recount';
import { createMatcherReconciler, type MatcherHooks } from '../../lambda/faa-matcher-sync/reconcile';
import type { LinkState } from '../../lambda/faa-matcher-sync/repository';
import type { Item } from '../../lambda/shared/decode';
import type { RowKeys } from '../../lambda/shared/key-rules';
import { toolTriggers } from '../../lambda/shared/trigger';
import { auditExitCode, runAudit, type AuditReport } from '../../ops/audit';
import { recount } from '../../ops/audit-recount';
import { createReconcilers } from '../../ops/reconcile';
import { i3Violations, linkRow, putLink, scanAll, silentLogger, type LinkRow } from '../faa-matcher-sync/helpers';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { quietLogger } from './support';

/**
 * Issue 15's repair scenarios: a count that disagrees with its contribution rows is recounted
 * exactly (never "count 6, links 5"), or left untouched and reported by key; after --repair the
 * touched keys are re-audited and the exit status says whether they are clean.
 */
describe('ops audit --repair: matcher counts', () => {
  let table: TestTable;
  beforeEach(async () => {
    table = await createTestTable('audit-repair');
  });
  afterEach(async () => table.drop());

  const T = { type_designator: 'C172', manufacturer: 'Cessna', model: '172S' };
  const key = matcherTupleKey(T);
  const links = (n: number, tuple = T, code = '100'): LinkRow[] => Array.from({ length: n }, (_, i) => linkRow(code, String(i + 1), tuple));
  const matcher = (hooks?: MatcherHooks) => createMatcherReconciler({ doc: table.doc, tableName: table.tableName, logger: silentLogger(), sleep: async () => {}, ...(hooks && { hooks }) });
  /** Links written and counted by the real reconcile path (the rows as the matcher writes them). */
  const counted = async (rows: LinkRow[]) => {
    for (const row of rows) await putLink(table.doc, table.tableName, row);
    await matcher().reconcile(toolTriggers(rows, 'backfill', 'seed'));
  };
  const tupleRow = async () => (await table.doc.send(new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }))).Item;
  const setCount = (count: unknown) =>
    table.doc.send(new UpdateCommand({ TableName: table.tableName, Key: key, UpdateExpression: 'SET #c = :c', ExpressionAttributeNames: { '#c': 'count' }, ExpressionAttributeValues: { ':c': count } }));
  const audit = (extra: Partial<Parameters<typeof runAudit>[0]> = {}) => runAudit({ client: table.client, tableName: table.tableName, segments: 2, only: new Set(['I3']), ...extra });
  const repair = (extra: Partial<Parameters<typeof runAudit>[0]> = {}) =>
    audit({ repair: { reconcilers: createReconcilers({ doc: table.doc, tableName: table.tableName, logger: quietLogger(), subsystems: ['faa-matcher-sync'] }), run: 'repair-test' }, ...extra });
  const problems = (r: AuditReport) => r.findings.map((f) => `${f.pk} ${f.sk}: ${f.problem}`).sort();

  /** The end state every scenario must reach: exact counts and no finding, on a second audit too. */
  const expectExact = async (count: number | undefined) => {
    expect((await tupleRow())?.count).toBe(count);
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
    const again = await audit();
    expect(again.findings).toEqual([]);
    expect(auditExitCode(again)).toBe(0);
  };

  it('a deleted contribution row of a counted link: recounted, then the link reconciled: count 5, links 5 (never 6)', async () => {
    const rows = links(5);
    await counted(rows);
    await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: contributionKey(rows[2]!) }));

    const found = await audit();
    expect(problems(found)).toEqual([
      `${key.PK} ${key.SK}: count 5 but 4 contribution row(s) count links toward it (a recount sets count to 4)`,
      `FAA#LINKS ${rows[2]!.SK}: link carries ${key.PK} ${key.SK} but no contribution row counts it`,
    ].sort());
    expect(await tupleRow()).toMatchObject({ count: 5 }); // the audit alone writes nothing

    const repaired = await repair();
    expect(repaired.repair).toMatchObject({ recount: { tuples: 1, recounted: 1, exact: 0 }, untouched: [], remaining: [], failures: [] });
    expect(repaired.repair!.subsystems['faa-matcher-sync']).toEqual({ keys: 1, changed: 1, failed: 0 });
    expect(auditExitCode(repaired)).toBe(0);
    await expectExact(5);
  });

  it('a hand-edited count (7 for 5 links): recounted to 5; no link needs a reconcile', async () => {
    await counted(links(5));
    await setCount(7);
    expect(problems(await audit())).toEqual([
      `${key.PK} ${key.SK}: count 7 but 5 contribution row(s) count links toward it (a recount sets count to 5)`,
      `${key.PK} ${key.SK}: count 7, links 5`,
    ]);
    const repaired = await repair();
    expect(repaired.repair).toMatchObject({ keys: 0, recount: { recounted: 1 }, untouched: [], remaining: [] });
    expect(auditExitCode(repaired)).toBe(0);
    await expectExact(5);
  });

  it.each([
    ['too low', 2],
    ['not a number', 'five'],
    ['zero', 0],
  ])('a count edited by hand (%s) is recounted', async (_, count) => {
    await counted(links(3));
    await setCount(count);
    expect(auditExitCode(await repair())).toBe(0);
    await expectExact(3);
  });

  it('a deleted tuple row is written again with its contribution rows counted (through a placeholder fence)', async () => {
    await counted(links(2));
    await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: key }));
    expect(problems(await audit())).toContain(`${key.PK} ${key.SK}: no tuple row but 2 contribution row(s) count links toward it (a recount sets count to 2)`);
    expect(auditExitCode(await repair())).toBe(0);
    await expectExact(2);
    expect(await tupleRow()).toMatchObject({ ...T, count: 2, count_token: expect.any(String) });
  });

  it('a legacy_count that is not a count: the tuple and the links that would move its count are left untouched and named', async () => {
    const rows = links(3);
    await counted(rows);
    await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: contributionKey(rows[0]!) }));
    await table.doc.send(new UpdateCommand({ TableName: table.tableName, Key: key, UpdateExpression: 'SET legacy_count = :x', ExpressionAttributeValues: { ':x': 'x' } }));
    const before = await tupleRow();

    const repaired = await repair();
    expect(repaired.repair!.untouched.map((u) => [u.pk, u.sk, u.reason]).sort()).toEqual([
      ['FAA#LINKS', rows[0]!.SK, expect.stringMatching(new RegExp(`^held back: tuple ${key.PK} ${key.SK} was not recounted \\(legacy_count "x" is not a positive integer`))],
      [key.PK, key.SK, expect.stringMatching(/^legacy_count "x" is not a positive integer/)],
    ]);
    expect(repaired.repair).toMatchObject({ keys: 0, unrepairable: 2 });
    expect(auditExitCode(repaired)).toBe(1);
    expect(await tupleRow()).toEqual(before); // untouched
    expect((await table.doc.send(new GetCommand({ TableName: table.tableName, Key: contributionKey(rows[0]!) }))).Item).toBeUndefined();
  });

  it('counts another worker made (no contribution rows at all) are never recounted: reported for the takeover', async () => {
    for (const row of links(2)) await putLink(table.doc, table.tableName, row);
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { ...key, ...T, count: 3 } }));
    const repaired = await repair();
    expect(repaired.findings.map((f) => f.problem)).toEqual(['count 3, links 2']);
    expect(repaired.repair!.untouched).toEqual([expect.objectContaining({ pk: key.PK, sk: key.SK, reason: expect.stringContaining('backfill --takeover') })]);
    expect(repaired.repair!.recount.tuples).toBe(0);
    expect(auditExitCode(repaired)).toBe(1);
    expect(await tupleRow()).toMatchObject({ count: 3 });
  });

  describe('safe while links are written (deterministic interleavings)', () => {
    it('a link counted into the tuple between the fence and the scan breaks the fence: the next round recounts exactly', async () => {
      const rows = links(4);
      await counted(rows);
      await setCount(9);
      const extra = linkRow('100', '99', T);
      let fences = 0;
      const repaired = await repair({
        recountHooks: {
          afterFences: async () => {
            if (++fences > 1) return;
            await counted([extra]); // the stream handler counts a new link: +1 and its contribution row
          },
        },
      });
      expect(fences).toBe(2);
      expect(repaired.repair).toMatchObject({ recount: { recounted: 1 }, untouched: [], remaining: [] });
      await expectExact(5);
    });

    it('a link that keeps moving in every round: nothing written, the tuple and its links reported untouched', async () => {
      const rows = links(3);
      await counted(rows);
      await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: contributionKey(rows[1]!) }));
      let n = 0;
      const repaired = await repair({ recountHooks: { afterScan: async () => counted([linkRow('100', String(100 + ++n), T)]) } });
      expect(n).toBe(3);
      expect(repaired.repair!.untouched.map((u) => [u.pk, u.sk])).toEqual(expect.arrayContaining([[key.PK, key.SK], ['FAA#LINKS', rows[1]!.SK]]));
      expect(repaired.repair).toMatchObject({ keys: 0, recount: { recounted: 0 } });
      expect(auditExitCode(repaired)).toBe(1);
      // Not made worse: still 3 + 3 counted by the matcher, 1 of them without its row; a second repair settles it.
      expect(await tupleRow()).toMatchObject({ count: 6 });
      expect(auditExitCode(await repair())).toBe(0);
      await expectExact(6);
    });

    it('the stream handler paused between its read and its write while a whole recount runs: its +1 lands on the recounted count', async () => {
      const rows = links(3);
      await counted(rows);
      await setCount(10);
      const late = linkRow('100', '50', T);
      await putLink(table.doc, table.tableName, late);
      let reached!: (s: LinkState) => void;
      let release!: () => void;
      const atPause = new Promise<LinkState>((r) => (reached = r));
      const released = new Promise<void>((r) => (release = r));
      const paused = matcher({ afterRead: async (k: RowKeys, s) => (k.SK === late.SK ? (reached(s), released) : undefined) }).reconcile(toolTriggers([late], 'backfill', 'stream'));
      expect((await atPause).contribution).toEqual({ kind: 'absent' });

      // The recount counts contribution rows, not links: the late link is not counted yet, so 3.
      const [result] = await recount({ client: table.client, tableName: table.tableName, segments: 2 }, [T], true);
      expect(result).toMatchObject({ outcome: 'recounted', contributions: 3, target: 3 });

      release();
      expect((await paused)[0]).toMatchObject({ action: 'increment', changed: true });
      await expectExact(4);
    });

    /** Contribution rows as a consistent scan returns them, `first` ones before the others; `between` runs in between. */
    const scanInTwoParts = (first: RowKeys, between: () => Promise<void>): { scan: ContributionScan; rounds: () => number } => {
      let rounds = 0;
      const all = async () => (await scanAll(table.doc, table.tableName)).filter((r) => String(r.PK).startsWith('MATCHER#CONTRIB#')) as Item[];
      return {
        rounds: () => rounds,
        scan: async (onPage) => {
          rounds += 1;
          if (rounds > 1) return onPage(await all());
          const firstPk = contributionKey(first).PK;
          await onPage((await all()).filter((r) => r.PK === firstPk));
          await between();
          await onPage((await all()).filter((r) => r.PK !== firstPk));
        },
      };
    };

    it('+1 and -1 on the tuple during the scan leave its count as fenced (ABA): the count_token still shows it moved, and the next round counts right', async () => {
      const U = { ...T, model: '182' };
      const [l1, l2, y] = links(3);
      await counted([l1!, l2!, y!]);
      await setCount(10);
      const x = linkRow('100', '40', T);
      // The scan reads y's row (counted in T), then x is counted in T and y moves to U: count 10 again.
      const { scan, rounds } = scanInTwoParts(y!, async () => {
        await counted([x]);
        await putLink(table.doc, table.tableName, { ...y!, ...U });
        await matcher().reconcile(toolTriggers([y!], 'backfill', 'move'));
        expect((await tupleRow())?.count).toBe(10);
      });
      const [result] = await recountTuples({ client: table.client, tableName: table.tableName }, [T], scan, { write: true });
      // Round 1 saw y and x both naming T (4); written with the count alone as fence, that would stay wrong.
      expect(rounds()).toBe(2);
      expect(result).toMatchObject({ outcome: 'recounted', contributions: 3, target: 3 });
      await expectExact(3);
    });

    it('measuring only (no --repair) across the same interleaving reports nothing it could not prove', async () => {
      const [l1, y] = links(2);
      await counted([l1!, y!]);
      await setCount(10);
      const { scan } = scanInTwoParts(y!, async () => {
        await counted([linkRow('100', '40', T)]);
        await putLink(table.doc, table.tableName, { ...y!, model: '182' });
        await matcher().reconcile(toolTriggers([y!], 'backfill', 'move'));
      });
      const [result] = await recountTuples({ client: table.client, tableName: table.tableName }, [T], scan, { write: false });
      expect(result).toMatchObject({ outcome: 'moved' });
      expect(await tupleRow()).toMatchObject({ count: 10 }); // measuring writes nothing
    });
  });
});

describe('recountPlan (pure): count = legacy_count + contribution rows, no row at 0', () => {
  const tuple = { type_designator: 'C172', manufacturer: 'Cessna', model: '172S' };
  const fence = (row: Fence['row']): Fence => ({ tuple, key: matcherTupleKey(tuple), row });
  const n = (v: number | string) => ({ N: String(v) });
  it.each<[string, Fence['row'], number, ReturnType<typeof recountPlan>]>([
    ['no row, nothing counted', null, 0, { kind: 'exact' }],
    ['no row, links counted', null, 2, { kind: 'set', count: 2 }],
    ['right count', { count: n(3), token: { S: 't' } }, 3, { kind: 'exact' }],
    ['hand-edited count', { count: n(7) }, 5, { kind: 'set', count: 5 }],
    ['count not a number', { count: { S: '5' } }, 5, { kind: 'set', count: 5 }],
    ['placeholder (no count)', { token: { S: 't' } }, 2, { kind: 'set', count: 2 }],
    ['nothing counts toward it', { count: n(4) }, 0, { kind: 'delete' }],
    ['during a takeover', { count: n(5), legacy: n(2) }, 3, { kind: 'exact' }],
    ['during a takeover, off', { count: n(9), legacy: n(2) }, 3, { kind: 'set', count: 5 }],
    ['legacy_count not a count', { count: n(5), legacy: { S: 'x' } }, 3, { kind: 'refuse', reason: 'legacy_count "x" is not a positive integer (edited by hand: fix or remove it first)' }],
    ['legacy_count 0', { count: n(5), legacy: n(0) }, 3, { kind: 'refuse', reason: 'legacy_count 0 is not a positive integer (edited by hand: fix or remove it first)' }],
  ])('%s', (_, row, contributions, plan) => {
    expect(recountPlan(fence(row), contributions)).toEqual(plan);
  });
});
