import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contributionKey, matcherTupleKey } from '../../lambda/faa-matcher-sync/keys';
import { prepareTakeover } from '../../lambda/faa-matcher-sync/takeover';
import { runAudit } from '../../ops/audit';
import { runBackfill } from '../../ops/backfill';
import { main } from '../../ops/cli';
import { createReconcilers } from '../../ops/reconcile';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { captureIo, link, putAll, quietLogger, T1, tupleRow } from './support';

/** A contribution row with a partial tuple: faa-matcher-sync refuses to reconcile its link until it is fixed. */
const corruptContribution = (sn: string) => ({ ...contributionKey({ PK: 'FAA#LINKS', SK: String(link(sn).SK) }), type_designator: 'C172' });

describe('ops backfill never loses a failed key', () => {
  let table: TestTable;
  let dir: string;
  beforeEach(async () => {
    table = await createTestTable('ops-bf-fail');
    dir = mkdtempSync(join(tmpdir(), 'ops-bf-fail-'));
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await table.drop();
  });

  const count = async () => (await table.doc.send(new GetCommand({ TableName: table.tableName, Key: matcherTupleKey(T1), ConsistentRead: true }))).Item;
  const i3 = async () => (await runAudit({ client: table.client, tableName: table.tableName, segments: 2, only: new Set(['I3']) })).findings;
  const fix = (sn: string) => table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: contributionKey({ PK: 'FAA#LINKS', SK: String(link(sn).SK) }) }));

  /** `npm run ops -- backfill ...` in process, with no AWS configuration at all (the endpoint is DynamoDB Local). */
  async function backfill(...extra: string[]) {
    const io = captureIo();
    const code = await main(['backfill', '--table', table.tableName, '--endpoint', table.endpoint, '--subsystems', 'faa-matcher-sync', '--segments', '2', '--page-size', '2', '--json', ...extra], io, {});
    return { code, report: io.out.length ? JSON.parse(io.out.join('')) : undefined, stderr: io.err.join('') };
  }

  it('a key that fails is kept in the checkpoint: the same command retries it (exit 1 while it fails), and exits 0 once it reconciled', async () => {
    await putAll(table, [link('1'), link('2'), link('3'), corruptContribution('2')]);
    const checkpoint = join(dir, 'backfill.json');
    const failedKeys = join(dir, 'failed.jsonl');

    const first = await backfill('--checkpoint', checkpoint, '--failed-keys', failedKeys);
    expect(first.code).toBe(1);
    expect(first.report).toMatchObject({ complete: true, resumed: false, retried: { keys: 0, reconciled: 0 }, failed: { count: 1 } });
    expect(first.report.failed.keys).toEqual([{ subsystem: 'faa-matcher-sync', pk: 'FAA#LINKS', sk: link('2').SK, error: expect.stringContaining('partial or non-string tuple') }]);
    expect(readFileSync(failedKeys, 'utf8').trim().split('\n').map((l) => JSON.parse(l).sk)).toEqual([link('2').SK]);
    expect(JSON.parse(readFileSync(checkpoint, 'utf8')).failed).toEqual([expect.objectContaining({ pk: 'FAA#LINKS', sk: link('2').SK })]);
    expect(await count()).toMatchObject({ count: 2 });

    // The runbook's "run the same command again" before the fix: nothing to scan, the key is retried, still exit 1.
    const unfixed = await backfill('--checkpoint', checkpoint);
    expect(unfixed.code).toBe(1);
    expect(unfixed.report).toMatchObject({ complete: true, resumed: true, pages: 0, retried: { keys: 1, reconciled: 0 }, failed: { count: 1 } });
    expect(await i3()).not.toEqual([]);

    await fix('2');
    const fixed = await backfill('--checkpoint', checkpoint, '--failed-keys', failedKeys);
    expect(fixed.code).toBe(0);
    expect(fixed.report).toMatchObject({ complete: true, resumed: true, pages: 0, retried: { keys: 1, reconciled: 1 }, failed: { count: 0, keys: [] } });
    expect(readFileSync(failedKeys, 'utf8')).toBe('');
    expect(await count()).toMatchObject({ count: 3 });
    expect(await i3()).toEqual([]);
    expect((await backfill('--checkpoint', checkpoint)).report).toMatchObject({ retried: { keys: 0 }, failed: { count: 0 } });
  });

  it('a checkpoint resumed with other --subsystems or without --takeover is a usage error (exit 2, one line), not a silent no-op', async () => {
    await putAll(table, [link('1')]);
    const checkpoint = join(dir, 'backfill.json');
    expect((await backfill('--checkpoint', checkpoint)).code).toBe(0);
    const other = await backfill('--checkpoint', checkpoint, '--subsystems', 'image-sync');
    expect(other).toEqual({ code: 2, report: undefined, stderr: `ops: checkpoint ${checkpoint} was written with --subsystems faa-matcher-sync; resume with the same value, or delete ${checkpoint} to start over\n` });
    const takeover = await backfill('--checkpoint', checkpoint, '--takeover');
    expect(takeover.code).toBe(2);
    expect(takeover.stderr).toBe(`ops: checkpoint ${checkpoint} was written without --takeover; resume with the same value, or delete ${checkpoint} to start over\n`);
    const dry = await backfill('--checkpoint', checkpoint, '--dry-run');
    expect(dry.stderr).toBe('ops: --dry-run writes nothing, not even a checkpoint: leave out --checkpoint\n');
  });

  it('takeover: the release is refused (one line, exit 1) after a pass with a failed key, and runs once the same command reconciles it', async () => {
    // The old worker counted links 1-3 toward T1 (3); prepare snapshots that into legacy_count.
    await putAll(table, [link('1'), link('2'), link('3'), tupleRow(T1, 3)]);
    await prepareTakeover({ doc: table.doc, tableName: table.tableName, logger: quietLogger() });
    await putAll(table, [corruptContribution('3')]);
    const checkpoint = join(dir, 'takeover.json');

    const unclean = await backfill('--checkpoint', checkpoint, '--takeover');
    expect(unclean.code).toBe(1);
    expect(unclean.report.takeover).toBeUndefined();
    expect(unclean.stderr).toBe(
      `ops: takeover release refused: 1 key(s) failed in this backfill pass (first: faa-matcher-sync FAA#LINKS ${link('3').SK}); fix them and run the same command again\n`,
    );
    expect(await count()).toMatchObject({ count: 5, legacy_count: 3 }); // nothing released: links 1 and 2 counted on top

    await fix('3');
    const clean = await backfill('--checkpoint', checkpoint, '--takeover');
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(clean.report).toMatchObject({ retried: { keys: 1, reconciled: 1 }, takeover: { released: 1, complete: true } });
    expect(await count()).toEqual(expect.objectContaining({ count: 3 }));
    expect((await count())!.legacy_count).toBeUndefined();
    expect(await i3()).toEqual([]);
    expect(JSON.parse(readFileSync(checkpoint, 'utf8')).release).toEqual(['done', 'done']);
  });

  it('with too many failing keys the scan stops (keys kept), and the next run retries them before scanning on', async () => {
    await putAll(table, [link('1'), link('2'), link('3'), link('4'), corruptContribution('1'), corruptContribution('2'), corruptContribution('3'), corruptContribution('4')]);
    const checkpointFile = join(dir, 'backfill.json');
    const options = {
      client: table.client, doc: table.doc, tableName: table.tableName, logger: quietLogger(), segments: 1, pageSize: 1, checkpointFile, maxFailedKeys: 2,
      reconcilers: createReconcilers({ doc: table.doc, tableName: table.tableName, logger: quietLogger(), subsystems: ['faa-matcher-sync'] }),
    };
    const first = await runBackfill({ ...options, run: 'b1' });
    expect(first).toMatchObject({ complete: false, failed: { count: 2 }, stopped: '2 keys are failing (--max-failed-keys 2); fix the cause and run the same command again' });
    const again = await runBackfill({ ...options, run: 'b2' });
    expect(again).toMatchObject({ complete: false, pages: 0, retried: { keys: 2, reconciled: 0 }, failed: { count: 2 } });

    for (const sn of ['1', '2', '3', '4']) await fix(sn);
    const fixed = await runBackfill({ ...options, run: 'b3' });
    expect(fixed).toMatchObject({ complete: true, retried: { keys: 2, reconciled: 2 }, failed: { count: 0 } });
    expect(fixed.stopped).toBeUndefined();
    expect(await count()).toMatchObject({ count: 4 });
    expect(await i3()).toEqual([]);
  });
});
