/** The audit trail's pure parts: keys, change time, diff, value codec, envelope, key cache, fitting, settings. */
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { auditConfigFromEnv } from '../../lambda/audit-trail/config';
import { fieldDiff } from '../../lambda/audit-trail/diff';
import { DataKeyCache, decryptValue, encryptValue, type DataKey } from '../../lambda/audit-trail/envelope';
import { fitToSize, historyEvent, type HistoryRow } from '../../lambda/audit-trail/history-row';
import { changeTimeMicros, historyPartitionKey, historySortKey, itemKeysOf } from '../../lambda/audit-trail/history-table';
import { itemSize } from '../../lambda/audit-trail/item-size';
import { hashProtection } from '../../lambda/audit-trail/sensitive';
import { decodeValue, encodeValue } from '../../lambda/audit-trail/values';
import { decodeRecord, type StreamChange } from '../../lambda/shared/decode';
import { StreamRecordError } from '../../lambda/shared/errors';
import { insertRecord, removeRecord } from '../support/events';

const change = (patch: Partial<StreamChange> = {}): StreamChange => ({
  eventID: 'e1',
  eventName: 'INSERT',
  keys: { PK: 'P', SK: 'S' },
  sequenceNumber: '123',
  approximateCreationDateTime: 1_780_000_000,
  ...patch,
});

describe('history keys', () => {
  it('encodes an item without ambiguity (no separator can be confused)', () => {
    const a = historyPartitionKey({ PK: 'A#B', SK: 'C' });
    const b = historyPartitionKey({ PK: 'A', SK: 'B#C' });
    expect(a).not.toBe(b);
    expect(itemKeysOf(a)).toEqual({ PK: 'A#B', SK: 'C' });
    expect(itemKeysOf(historyPartitionKey({ PK: 'x"],["y', SK: '\\' }))).toEqual({ PK: 'x"],["y', SK: '\\' });
  });

  it('digests keys too long for a partition key', () => {
    const long = { PK: 'P'.repeat(2048), SK: 'S'.repeat(1024) };
    const pk = historyPartitionKey(long);
    expect(pk).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(historyPartitionKey({ ...long, SK: 'T'.repeat(1024) })).not.toBe(pk);
    expect(itemKeysOf(pk)).toBeUndefined();
  });

  it('orders by change time, then sequence number (streams); sorts as text the way it sorts as numbers', () => {
    const sks = [
      historySortKey(change({ approximateCreationDateTime: 1_780_000_001, sequenceNumber: '5' }), 'dynamodb-streams'),
      historySortKey(change({ sequenceNumber: '100000000000000000000099' }), 'dynamodb-streams'),
      historySortKey(change({ sequenceNumber: '99000000000000000000000' }), 'dynamodb-streams'),
      historySortKey(change({ approximateCreationDateTime: 999_999_999 }), 'dynamodb-streams'),
    ];
    expect([...sks].sort()).toEqual([sks[3], sks[2], sks[1], sks[0]]);
    expect(sks[0]).toBe(`01780000001000000#${'5'.padStart(40, '0')}#e1`);
  });

  it('Kinesis: microseconds from the fraction; a duplicate with another sequence number has the same key', () => {
    const at = 1_780_000_000.123456;
    expect(changeTimeMicros(change({ approximateCreationDateTime: at }))).toBe(1_780_000_000_123_456);
    const a = historySortKey(change({ approximateCreationDateTime: at, sequenceNumber: '4959' }), 'kinesis');
    const b = historySortKey(change({ approximateCreationDateTime: at, sequenceNumber: '4960' }), 'kinesis');
    expect(a).toBe(b);
    expect(a).toBe('01780000000123456#e1');
  });

  it('a change without a change time is a record error naming it', () => {
    expect(() => changeTimeMicros(change({ approximateCreationDateTime: undefined }))).toThrow(StreamRecordError);
    expect(() => changeTimeMicros(change({ approximateCreationDateTime: undefined }))).toThrow(/eventID=e1 PK=P SK=S/);
  });
});

describe('history events', () => {
  it('REMOVE by DynamoDB TTL is expire; by anyone else remove', () => {
    const row = { PK: 'P', SK: 'S' };
    expect(historyEvent(decodeRecord({ ...removeRecord(row), userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } }))).toBe('expire');
    expect(historyEvent(decodeRecord({ ...removeRecord(row), userIdentity: { type: 'Service', principalId: 'other.amazonaws.com' } }))).toBe('remove');
    expect(historyEvent(decodeRecord(removeRecord(row)))).toBe('remove');
    expect(historyEvent(decodeRecord(insertRecord(row)))).toBe('insert');
  });
});

describe('field diff and value codec', () => {
  it('compares nested values by content, numbers exactly, binary by bytes', () => {
    const big = NumberValue.from('12345678901234567890');
    const old = { PK: 'P', SK: 'S', m: { a: 1, b: [1, 2] }, n: big, bin: new Uint8Array([1, 2]), gone: 'x', same: 'y' };
    const neu = { PK: 'P', SK: 'S2', m: { b: [1, 2], a: 1 }, n: NumberValue.from('12345678901234567891'), bin: new Uint8Array([1, 3]), same: 'y', fresh: null };
    const diff = fieldDiff(old, neu);
    expect(Object.keys(diff.changed).sort()).toEqual(['bin', 'n']);
    expect(diff.removed).toEqual({ gone: 'x' });
    expect(diff.added).toEqual({ fresh: null });
  });

  it('encodes canonically (name order does not matter) and decodes back exactly', () => {
    const value = { z: [1, 'a', true, null, new Uint8Array([9])], a: { n: NumberValue.from('0.1234567890123456789') } };
    expect(encodeValue(value)).toBe(encodeValue({ a: value.a, z: value.z }));
    expect(decodeValue(encodeValue(value))).toEqual(value);
  });
});

describe('envelope encryption', () => {
  const key = new Uint8Array(32).fill(7);

  it('round-trips, and refuses another place, another key or a changed byte', () => {
    const sealed = encryptValue(key, 'secret', 'row\nfield');
    expect(decryptValue(key, sealed, 'row\nfield')).toBe('secret');
    expect(encryptValue(key, 'secret', 'row\nfield')).not.toBe(sealed); // a fresh IV each time
    expect(() => decryptValue(key, sealed, 'row\nother')).toThrow();
    expect(() => decryptValue(new Uint8Array(32).fill(8), sealed, 'row\nfield')).toThrow();
    const bytes = Buffer.from(sealed, 'base64');
    bytes[14] = bytes[14]! ^ 1;
    expect(() => decryptValue(key, bytes.toString('base64'), 'row\nfield')).toThrow();
  });

  it('caches one data key per container, replaced after its age or its row budget; one call for concurrent rows', async () => {
    let calls = 0;
    let clock = 0;
    const source = { generateDataKey: async (): Promise<DataKey> => ({ plaintext: new Uint8Array(32).fill(++calls), encrypted: new Uint8Array([calls]), keyId: 'k' }) };
    const cache = new DataKeyCache(source, { maxAgeMs: 1000, maxRows: 3 }, () => clock);
    const keys = await Promise.all([cache.forRow(), cache.forRow()]);
    expect(calls).toBe(1);
    expect(keys[0]).toBe(keys[1]);
    await cache.forRow();
    expect(calls).toBe(1);
    await cache.forRow(); // the fourth row: budget spent
    expect(calls).toBe(2);
    clock = 1000;
    await cache.forRow(); // too old
    expect(calls).toBe(3);
    expect(cache.generated).toBe(3);
  });

  it('a failed key request is not cached', async () => {
    let fail = true;
    const cache = new DataKeyCache({
      generateDataKey: async () => {
        if (fail) throw new Error('KMS unavailable');
        return { plaintext: new Uint8Array(32), encrypted: new Uint8Array(1), keyId: 'k' };
      },
    });
    await expect(cache.forRow()).rejects.toThrow('KMS unavailable');
    fail = false;
    await expect(cache.forRow()).resolves.toMatchObject({ keyId: 'k' });
  });
});

describe('keyed hash', () => {
  it('same field and value, same digest; other field or value, other digest; a failed key read is retried', async () => {
    let reads = 0;
    const protection = hashProtection({
      hashKey: async () => {
        if (++reads === 1) throw new Error('secret unavailable');
        return new Uint8Array(32).fill(1);
      },
    });
    await expect(protection.forRow()).rejects.toThrow('secret unavailable');
    const sealer = await protection.forRow();
    const place = { pk: 'p', sk: 's', field: 'city', side: 'new' };
    const a = sealer.seal('Paris', place);
    expect(a).toEqual({ hmac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(sealer.seal('Paris', { ...place, pk: 'other', side: 'old' })).toEqual(a);
    expect(sealer.seal('Lyon', place)).not.toEqual(a);
    expect(sealer.seal('Paris', { ...place, field: 'state' })).not.toEqual(a);
    await protection.forRow();
    expect(reads).toBe(2);
  });
});

describe('fitting a row under the size limit', () => {
  const row = (diff: HistoryRow['diff']): HistoryRow => ({
    PK: 'p', SK: 's', item_pk: 'P', item_sk: 'S', row_kind: 'faa-registration', event: 'modify', event_id: 'e', sequence_number: '1',
    change_time: 't', change_time_us: 1, diff, expires_at: 1,
  });

  it('leaves a row that fits as it is', () => {
    const r = row({ added: { a: { v: 'x' } }, removed: {}, changed: {} });
    expect(fitToSize(r, new Set(), 10_000)).toBe(r);
  });

  it('leaves out the largest values first; a sensitive one keeps its size only', () => {
    const r = row({ added: { notes: { v: 'n'.repeat(5000) }, owner_name: { enc: 'e'.repeat(4000) }, small: { v: 'x' } }, removed: {}, changed: {} });
    const fitted = fitToSize(r, new Set(['owner_name']), 2000);
    expect(fitted.omitted).toBe(2);
    expect(fitted.diff.added.notes).toEqual({ omitted: { bytes: 5000, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(fitted.diff.added.owner_name).toEqual({ omitted: { bytes: expect.any(Number) } });
    expect(fitted.diff.added.small).toEqual({ v: 'x' });
    expect(itemSize(fitted as never)).toBeLessThanOrEqual(2000);
  });
});

describe('settings from the environment', () => {
  const base = { HISTORY_TABLE_NAME: 'h', AUDIT_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/k' };

  it('defaults: encrypt, every row kind, 90 days, DynamoDB Streams', () => {
    expect(auditConfigFromEnv(base)).toMatchObject({ historyTableName: 'h', sensitive: { mode: 'encrypt', kmsKeyId: base.AUDIT_KMS_KEY_ID }, retentionDays: 90, source: 'dynamodb-streams' });
    expect(auditConfigFromEnv(base).rowKinds).toHaveLength(7);
  });

  it('hash mode needs its secret; bad values are named', () => {
    expect(auditConfigFromEnv({ HISTORY_TABLE_NAME: 'h', AUDIT_SENSITIVE: 'hash', AUDIT_HASH_SECRET_ARN: 's' }).sensitive).toEqual({ mode: 'hash', secretArn: 's' });
    expect(() => auditConfigFromEnv({ HISTORY_TABLE_NAME: 'h', AUDIT_SENSITIVE: 'hash' })).toThrow(/AUDIT_HASH_SECRET_ARN/);
    expect(() => auditConfigFromEnv({ ...base, AUDIT_SENSITIVE: 'plain' })).toThrow(/AUDIT_SENSITIVE must be one of encrypt, hash/);
    expect(() => auditConfigFromEnv({ ...base, AUDIT_RETENTION_DAYS: '0' })).toThrow(/AUDIT_RETENTION_DAYS/);
    expect(() => auditConfigFromEnv({ ...base, AUDIT_ROW_KINDS: 'faa-link,pointers' })).toThrow(/unknown row kind "pointers"/);
    expect(() => auditConfigFromEnv({ AUDIT_KMS_KEY_ID: 'k' })).toThrow(/HISTORY_TABLE_NAME/);
  });
});
