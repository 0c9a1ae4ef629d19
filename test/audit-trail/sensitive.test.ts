/**
 * Personal fields never in clear: KMS (mocked at the SDK boundary) gives one data key per
 * container for a bulk batch and is never asked to decrypt by the function; a canary test
 * drives the clean path and every failure path and finds no canary value in the history
 * table or in any line logged or thrown; hash mode stores digests only.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createAuditHandler } from '../../lambda/audit-trail/handler';
import { ENCRYPTION_CONTEXT } from '../../lambda/audit-trail/envelope';
import { kmsDataKeySource } from '../../lambda/audit-trail/kms-keys';
import { kmsDataKeyOpener } from '../../lambda/audit-trail/kms-opener';
import { openHistoryRow, RowOpener } from '../../lambda/audit-trail/open-row';
import { secretHashKey } from '../../lambda/audit-trail/secret-hash-key';
import { encryptProtection, hashProtection } from '../../lambda/audit-trail/sensitive';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { countingMetrics, createHistoryTable, registryRow, type HistoryTable } from './support';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const PLAINTEXT_KEY = new Uint8Array(32).fill(42);
const WRAPPED_KEY = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
const CANARY = 'Zebulon Canary';

/** Every line a logger method was called with, errors written out as the runtime would. */
function recordingLogger() {
  const logger = new Logger({ serviceName: 'audit-trail', logLevel: 'DEBUG' });
  const lines: string[] = [];
  for (const method of ['debug', 'info', 'warn', 'error'] as const) {
    jest.spyOn(logger, method).mockImplementation((...args: unknown[]) => {
      lines.push(JSON.stringify(args, (_k, v) => (v instanceof Error ? { ...v, name: v.name, message: v.message, stack: v.stack } : v)));
    });
  }
  return { logger, lines };
}

describe('audit trail: sensitive values', () => {
  const kms = mockClient(KMSClient);
  let table: HistoryTable;
  beforeAll(async () => (table = await createHistoryTable()));
  afterAll(async () => {
    kms.restore();
    await table.drop();
  });
  beforeEach(() => {
    kms.reset();
    kms.on(GenerateDataKeyCommand).resolves({ KeyId: KEY_ARN, Plaintext: PLAINTEXT_KEY, CiphertextBlob: WRAPPED_KEY });
  });

  const kmsHandler = (extra: { logger?: Logger; metrics?: ReturnType<typeof countingMetrics>['metrics'] } = {}) =>
    createAuditHandler({
      doc: table.doc,
      historyTableName: table.tableName,
      logger: extra.logger ?? recordingLogger().logger,
      protection: encryptProtection(kmsDataKeySource(new KMSClient({ region: 'eu-west-1' }), KEY_ARN)),
      ...(extra.metrics && { metrics: extra.metrics }),
    });

  it('a bulk batch asks KMS for one data key (with the encryption context), never to decrypt', async () => {
    const records = Array.from({ length: 50 }, (_, i) => insertRecord(registryRow(`N5${i}`, CANARY)));
    expect(await kmsHandler()(streamEvent(...records))).toEqual({ batchItemFailures: [] });
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
    expect(kms.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input).toEqual({ KeyId: KEY_ARN, KeySpec: 'AES_256', EncryptionContext: ENCRYPTION_CONTEXT });
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(0);
    const [h] = await table.history(registryRow('N50'));
    expect(h!.data_key).toEqual({ key_id: KEY_ARN, encrypted: WRAPPED_KEY });

    // ops' side: Decrypt with the same context opens the data key and the values.
    kms.on(DecryptCommand).resolves({ Plaintext: PLAINTEXT_KEY });
    const opened = await openHistoryRow(h!, new RowOpener(kmsDataKeyOpener(new KMSClient({ region: 'eu-west-1' }))));
    expect(opened.find((c) => c.field === 'owner_name')?.new).toEqual({ value: `${CANARY}-OWNER-N50` });
    expect(kms.commandCalls(DecryptCommand)[0]!.args[0].input).toEqual({ CiphertextBlob: WRAPPED_KEY, KeyId: KEY_ARN, EncryptionContext: ENCRYPTION_CONTEXT });
  });

  it('canary: no personal value in the table or in any logged or thrown line, clean path and failure paths', async () => {
    const { logger, lines } = recordingLogger();
    const thrown: string[] = [];
    const run = async (...records: DynamoDBRecord[]) => {
      try {
        lines.push(JSON.stringify(await kmsHandler({ logger })(streamEvent(...records))));
      } catch (error) {
        // What the Lambda runtime prints of a thrown error: its message and enumerable properties.
        thrown.push(JSON.stringify(error, (_k, v) => (v instanceof Error ? { ...v, name: v.name, message: v.message, stack: v.stack } : v)));
      }
    };
    const a = registryRow('N600', CANARY);
    const b = { ...a, owner_name: `${CANARY} Junior`, city: `${CANARY}ville` };
    // Clean: insert, modify, remove, expiry, a duplicate.
    await run(insertRecord(a), modifyRecord(a, b), removeRecord(b), { ...removeRecord(b), userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } }, insertRecord(a, { eventID: 'dup', sequenceNumber: '900000000000000000001' }));
    await run(insertRecord(a, { eventID: 'dup', sequenceNumber: '900000000000000000001' }));
    // KMS refuses (access denied), then throttles.
    kms.on(GenerateDataKeyCommand).rejects(Object.assign(new Error(`User is not authorized to perform kms:GenerateDataKey on ${KEY_ARN}`), { name: 'AccessDeniedException', $fault: 'client' }));
    await run(insertRecord(registryRow('N601', CANARY)));
    kms.on(GenerateDataKeyCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $retryable: {} }));
    await run(insertRecord(registryRow('N602', CANARY)));
    kms.on(GenerateDataKeyCommand).resolves({ KeyId: KEY_ARN, Plaintext: PLAINTEXT_KEY, CiphertextBlob: WRAPPED_KEY });
    // A bad record (no change time), and the history table missing.
    const timeless = insertRecord(registryRow('N603', CANARY));
    delete timeless.dynamodb!.ApproximateCreationDateTime;
    await run(insertRecord(registryRow('N604', CANARY)), timeless);
    const missing = createAuditHandler({ doc: table.doc, historyTableName: 'no-such-table', logger, protection: encryptProtection(kmsDataKeySource(new KMSClient({ region: 'eu-west-1' }), KEY_ARN)) });
    try {
      await missing(streamEvent(insertRecord(registryRow('N605', CANARY))));
    } catch (error) {
      thrown.push(JSON.stringify(error, (_k, v) => (v instanceof Error ? { ...v, name: v.name, message: v.message, stack: v.stack } : v)));
    }

    expect(thrown.length).toBeGreaterThanOrEqual(3);
    expect(lines.some((l) => l.includes('history batch'))).toBe(true);
    expect(lines.some((l) => l.includes('AccessDeniedException'))).toBe(true);
    const raw = JSON.stringify((await table.client.send(new ScanCommand({ TableName: table.tableName }))).Items);
    expect(raw).toContain('N600'); // the registration is not personal: stored in clear
    for (const text of [raw, ...lines, ...thrown]) expect(text).not.toContain('Canary');
  });

  it('hash mode: digests only (same value, same digest across rows), no data key, the secret read once', async () => {
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'k'.repeat(64) });
    try {
      const handler = createAuditHandler({
        doc: table.doc,
        historyTableName: table.tableName,
        logger: recordingLogger().logger,
        protection: hashProtection(secretHashKey(new SecretsManagerClient({ region: 'eu-west-1' }), 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:audit-AbCdEf')),
      });
      const a = { ...registryRow('N700', CANARY), city: 'Sameville' };
      const b = { ...registryRow('N701', CANARY), city: 'Sameville' };
      await handler(streamEvent(insertRecord(a), insertRecord(b)));
      const [ha] = await table.history(a);
      const [hb] = await table.history(b);
      expect(ha!.sensitive).toBe('hash');
      expect(ha!.data_key).toBeUndefined();
      expect(ha!.diff.added.city).toEqual(hb!.diff.added.city);
      expect(ha!.diff.added.owner_name).not.toEqual(hb!.diff.added.owner_name);
      expect(Object.keys(ha!.diff.added.owner_name!)).toEqual(['hmac']);
      expect(JSON.stringify([ha, hb])).not.toContain('Canary');
      expect(JSON.stringify([ha, hb])).not.toContain('Sameville');
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
      expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(0);
    } finally {
      secrets.restore();
    }
  });
});
