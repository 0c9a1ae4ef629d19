import { decodeRecord, readKeys } from '../../lambda/shared/decode';
import { changeTimeSeconds, fromKinesisRecord, kinesisDecodeError, toStreamEvent } from '../../lambda/shared/kinesis-record';
import { insertRecord, modifyRecord, removeRecord } from '../support/events';
import { kinesisRecordOf, rawKinesisRecord } from '../support/kinesis-events';

const row = { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N12345', registration: 'N12345', year_manufactured: 1999 };

describe('Kinesis records carrying DynamoDB changes', () => {
  it('become the stream record they carry, positioned by the Kinesis sequence number', () => {
    const change = modifyRecord(row, { ...row, year_manufactured: 2001 }, { eventID: 'd9428029-0f63-4056-86da-ce10d545b1b9' });
    const kinesis = kinesisRecordOf(change, { changeTimeMicros: 1_780_000_000_123_456 });
    const record = fromKinesisRecord(kinesis);
    expect(record.dynamodb?.SequenceNumber).toBe(kinesis.kinesis.sequenceNumber);
    expect(record.eventID).toBe('d9428029-0f63-4056-86da-ce10d545b1b9');
    const decoded = decodeRecord(record);
    expect(decoded).toMatchObject({ eventName: 'MODIFY', keys: { PK: row.PK, SK: row.SK }, newImage: { year_manufactured: 2001 }, oldImage: { year_manufactured: 1999 } });
    // Microseconds survive the trip through seconds.
    expect(Math.round(decoded.approximateCreationDateTime! * 1e6)).toBe(1_780_000_000_123_456);
  });

  it('reads the change time in seconds, milliseconds or microseconds', () => {
    expect(changeTimeSeconds(1_731_924_555)).toBe(1_731_924_555);
    expect(changeTimeSeconds(1_731_924_555_370)).toBeCloseTo(1_731_924_555.37, 6);
    expect(changeTimeSeconds(1_731_924_555_370_123)).toBeCloseTo(1_731_924_555.370123, 6);
  });

  it('keeps a TTL deletion recognisable (userIdentity) and REMOVE without NewImage', () => {
    const expired = { ...removeRecord(row), userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } };
    const record = fromKinesisRecord(kinesisRecordOf(expired));
    expect(record.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(decodeRecord(record)).toMatchObject({ eventName: 'REMOVE', oldImage: { registration: 'N12345' } });
  });

  it('a batch of both shapes reads as one stream batch, in order', () => {
    const a = insertRecord(row);
    const b = kinesisRecordOf(insertRecord({ ...row, SK: 'DETAIL#N2' }));
    const event = toStreamEvent({ Records: [a, b] });
    expect(event.Records.map((r) => readKeys(r).SK)).toEqual(['DETAIL#N12345', 'DETAIL#N2']);
    expect(event.Records[0]).toBe(a);
  });

  it.each([
    ['not base64 JSON', '%%%'],
    ['JSON but no change', Buffer.from('{"hello":1}').toString('base64')],
    ['a JSON array', Buffer.from('[1]').toString('base64')],
  ])('data that is %s fails its own record, naming its sequence number and the reason', (_, data) => {
    const record = fromKinesisRecord(rawKinesisRecord(data, '4965782840918770152'));
    expect(record.dynamodb?.SequenceNumber).toBe('4965782840918770152');
    expect(kinesisDecodeError(record)).toMatch(/^Kinesis record 4965782840918770152: /);
    expect(() => readKeys(record)).toThrow(/Kinesis record 4965782840918770152: .*eventID=kinesis:4965782840918770152/);
  });
});
