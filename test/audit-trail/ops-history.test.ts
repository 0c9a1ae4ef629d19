/** ops history: one item's changes newest first, sealed values shown sealed, --decrypt round trip, and a missing kms:Decrypt as one line. */
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { createAuditHandler } from '../../lambda/audit-trail/handler';
import { keyFileDataKeys, type KeyFile } from '../../lambda/audit-trail/key-file';
import { kmsDataKeySource } from '../../lambda/audit-trail/kms-keys';
import { kmsDataKeyOpener } from '../../lambda/audit-trail/kms-opener';
import { encryptProtection } from '../../lambda/audit-trail/sensitive';
import { CouldNotRunError } from '../../ops/common';
import { main } from '../../ops/cli';
import { formatHistory, historyJson, runHistory } from '../../ops/history';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { auditHandler, createHistoryTable, registryRow, silentLogger, tempKeyFile, type HistoryTable } from './support';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
// One mock of the KMS client class for the file (mocks of one class share its prototype).
const kms = mockClient(KMSClient);
afterAll(() => kms.restore());

describe('ops history', () => {
  let table: HistoryTable;
  let keyFile: KeyFile;
  const v1 = registryRow('N800', 'Canary');
  const v2 = { ...v1, status: 'D', city: 'Canary Moved' };
  const records = [insertRecord(v1, { eventID: 'c' }), modifyRecord(v1, v2, { eventID: 'b' }), removeRecord(v2, { eventID: 'a' })];

  beforeAll(async () => {
    table = await createHistoryTable();
    keyFile = tempKeyFile().file;
    await auditHandler(table, keyFile)(streamEvent(...records, insertRecord(registryRow('N801', 'Canary'))));
  });
  afterAll(() => table.drop());

  const history = (extra: Partial<Parameters<typeof runHistory>[0]> = {}) => runHistory({ doc: table.doc, tableName: table.tableName, keys: v1, ...extra });

  it('lists the item\'s changes newest first; --limit keeps the newest', async () => {
    const report = await history();
    expect(report.changes.map((c) => [c.event, c.eventID])).toEqual([['remove', 'a'], ['modify', 'b'], ['insert', 'c']]);
    expect((await history({ limit: 2 })).changes.map((c) => c.eventID)).toEqual(['a', 'b']);
    expect((await history({ limit: 1 })).changes.map((c) => c.eventID)).toEqual(['a']);
    expect((await history({ keys: { PK: v1.PK, SK: 'DETAIL#NONE' } })).changes).toEqual([]);
  });

  it('without --decrypt, personal values print as <encrypted>, never in clear (text and JSON)', async () => {
    const report = await history();
    const text = formatHistory(report);
    expect(text).toContain('history of PK=AIRCRAFT#REGISTRY#FAA SK=DETAIL#N800: 3 changes, newest first');
    expect(text).toContain('  ~ city: <encrypted> -> <encrypted>');
    expect(text).toContain('  ~ status: "V" -> "D"');
    expect(text).toContain('  + registration: "N800"');
    const json = historyJson(report);
    expect(JSON.parse(json).changes).toHaveLength(3);
    for (const out of [text, json]) expect(out).not.toContain('Canary');
  });

  it('--decrypt opens every encrypted value (round trip through the key file)', async () => {
    const opener = keyFileDataKeys(keyFile);
    const report = await history({ decrypt: () => opener });
    const modify = report.changes.find((c) => c.event === 'modify')!;
    expect(modify.fields).toEqual([
      { field: 'city', change: 'changed', old: { value: v1.city }, new: { value: v2.city } },
      { field: 'status', change: 'changed', old: { value: 'V' }, new: { value: 'D' } },
    ]);
    const insert = report.changes.find((c) => c.event === 'insert')!;
    expect(Object.fromEntries(insert.fields.map((f) => [f.field, (f.new as { value: unknown }).value]))).toEqual(
      Object.fromEntries(Object.entries(v1).filter(([k]) => k !== 'PK' && k !== 'SK')),
    );
    expect(formatHistory(report)).toContain(`~ city: "${v1.city}" -> "${v2.city}"`);
  });

  describe('rows sealed with a KMS key', () => {
    const item = registryRow('N802', 'Canary');
    beforeAll(async () => {
      kms.on(GenerateDataKeyCommand).resolves({ KeyId: KEY_ARN, Plaintext: new Uint8Array(32).fill(3), CiphertextBlob: new Uint8Array([9, 9]) });
      await createAuditHandler({
        doc: table.doc,
        historyTableName: table.tableName,
        logger: silentLogger(),
        protection: encryptProtection(kmsDataKeySource(new KMSClient({ region: 'eu-west-1' }), KEY_ARN)),
      })(streamEvent(insertRecord(item)));
    });
    it('--decrypt with kms:Decrypt: the values in clear', async () => {
      kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(32).fill(3) });
      const report = await history({ keys: item, decrypt: () => kmsDataKeyOpener(new KMSClient({ region: 'eu-west-1' })) });
      expect(report.changes[0]!.fields.find((f) => f.field === 'owner_name')!.new).toEqual({ value: item.owner_name });
    });

    it('--decrypt without kms:Decrypt: one line naming the key and the permission (exit 3 in the CLI)', async () => {
      kms.on(DecryptCommand).rejects(Object.assign(new Error(`User: arn:aws:iam::123456789012:user/ops is not authorized to perform: kms:Decrypt on resource: ${KEY_ARN}`), { name: 'AccessDeniedException' }));
      const failure = history({ keys: item, decrypt: () => kmsDataKeyOpener(new KMSClient({ region: 'eu-west-1' })) });
      await expect(failure).rejects.toBeInstanceOf(CouldNotRunError);
      await expect(failure).rejects.toThrow(`--decrypt needs kms:Decrypt on ${KEY_ARN}, which this caller lacks (AccessDeniedException)`);
    });
  });
});

describe('ops history through the CLI', () => {
  let table: HistoryTable;
  let keyPath: string;
  const item = registryRow('N850', 'Canary');
  const kmsItem = registryRow('N851', 'Canary');

  beforeAll(async () => {
    table = await createHistoryTable();
    const key = tempKeyFile();
    keyPath = key.path;
    await auditHandler(table, key.file)(streamEvent(insertRecord(item), modifyRecord(item, { ...item, city: 'Canary Moved' })));
    kms.on(GenerateDataKeyCommand).resolves({ KeyId: KEY_ARN, Plaintext: new Uint8Array(32).fill(5), CiphertextBlob: new Uint8Array([7]) });
    await createAuditHandler({ doc: table.doc, historyTableName: table.tableName, logger: silentLogger(), protection: encryptProtection(kmsDataKeySource(new KMSClient({ region: 'eu-west-1' }), KEY_ARN)) })(streamEvent(insertRecord(kmsItem)));
  });
  afterAll(() => table.drop());

  async function ops(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['history', '--table', table.tableName, '--endpoint', table.endpoint, ...args], { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), isTTY: false }, {});
    return { code, out: out.join(''), err: err.join('') };
  }

  it('prints the history newest first (text, JSON); nothing personal in clear', async () => {
    const text = await ops('--pk', item.PK, '--sk', item.SK);
    expect(text.code).toBe(0);
    expect(text.out.split('\n')[1]).toMatch(/ modify {2}eventID=/);
    expect(text.out).toContain('~ city: <encrypted> -> <encrypted>');
    const json = await ops('--pk', item.PK, '--sk', item.SK, '--json', '--limit', '1');
    expect(JSON.parse(json.out).changes.map((c: { event: string }) => c.event)).toEqual(['modify']);
    for (const r of [text, json]) expect(r.out + r.err).not.toContain('Canary');
  });

  it('--decrypt --key-file: the values in clear', async () => {
    const r = await ops('--pk', item.PK, '--sk', item.SK, '--decrypt', '--key-file', keyPath);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`~ city: "${item.city}" -> "Canary Moved"`);
  });

  it('usage errors exit 2; a local key without --key-file, or a KMS key without kms:Decrypt, exit 3 in one line', async () => {
    expect(await ops('--pk', item.PK)).toMatchObject({ code: 2, err: "ops: history: --pk and --sk (the item's keys) are required\n" });
    expect(await ops('--pk', item.PK, '--sk', item.SK, '--key-file', keyPath)).toMatchObject({ code: 2, err: 'ops: history: --key-file goes with --decrypt\n' });
    expect(await ops('--pk', item.PK, '--sk', item.SK, '--decrypt')).toMatchObject({ code: 3, err: 'ops: could not run: the history was sealed with a local key file (local:audit-trail): give --key-file with --decrypt\n' });
    kms.on(DecryptCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const denied = await ops('--pk', kmsItem.PK, '--sk', kmsItem.SK, '--decrypt');
    expect(denied).toEqual({ code: 3, out: '', err: `ops: could not run: --decrypt needs kms:Decrypt on ${KEY_ARN}, which this caller lacks (AccessDeniedException)\n` });
  });
});
