import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { decodeNumber, decodeRecord } from '../../lambda/shared/decode';
import { StreamRecordError } from '../../lambda/shared/errors';
import { insertRecord, modifyRecord, removeRecord } from '../support/events';

/** A record as the stream delivers it, attribute values written out by hand. */
const rawRecord = (image: Record<string, unknown>, patch: Partial<DynamoDBRecord> = {}): DynamoDBRecord =>
  ({
    eventID: 'e-1',
    eventName: 'INSERT',
    dynamodb: {
      Keys: { PK: { S: 'AIRCRAFT#REGISTRY#FAA' }, SK: { S: 'DETAIL#N1' } },
      NewImage: { PK: { S: 'AIRCRAFT#REGISTRY#FAA' }, SK: { S: 'DETAIL#N1' }, ...image },
      SequenceNumber: '111',
      SizeBytes: 42,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    ...patch,
  }) as DynamoDBRecord;

describe('decodeRecord', () => {
  it('decodes every attribute type into plain values (sets become arrays)', () => {
    const change = decodeRecord(
      rawRecord({
        s: { S: 'text' },
        n: { N: '42' },
        d: { N: '-12.5' },
        b: { B: Buffer.from('hi').toString('base64') as unknown as Uint8Array },
        t: { BOOL: true },
        z: { NULL: true },
        l: { L: [{ S: 'a' }, { N: '1' }] },
        m: { M: { inner: { SS: ['x', 'y'] } } },
        ss: { SS: ['a', 'b'] },
        ns: { NS: ['1', '2.5'] },
      }),
    );
    const image = change.newImage!;
    expect(image).toMatchObject({ s: 'text', n: 42, d: -12.5, t: true, z: null, l: ['a', 1], m: { inner: ['x', 'y'] }, ss: ['a', 'b'], ns: [1, 2.5] });
    expect(image.b).toBeDefined();
    expect(change).toMatchObject({ eventID: 'e-1', eventName: 'INSERT', keys: { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1' }, sequenceNumber: '111', sizeBytes: 42 });
    expect(change.oldImage).toBeUndefined();
  });

  it('never rounds numbers silently: beyond 2^53 or over 15 significant digits they stay exact', () => {
    const change = decodeRecord(
      rawRecord({
        big: { N: '9007199254740993' },
        precise: { N: '0.12345678901234567' },
        safe: { N: '9007199254740991' },
        fifteen: { N: '1234567.89012345' },
        huge: { N: '1E+125' },
        bigInSet: { NS: ['12345678901234567890'] },
      }),
    );
    const image = change.newImage!;
    expect(image.big).toBeInstanceOf(NumberValue);
    expect(String(image.big)).toBe('9007199254740993');
    expect(String(image.precise)).toBe('0.12345678901234567');
    expect(image.safe).toBe(9007199254740991);
    expect(image.fifteen).toBe(1234567.89012345);
    expect(image.huge).toBe(1e125);
    expect(String((image.bigInSet as unknown[])[0])).toBe('12345678901234567890');
  });

  it.each([
    ['12', 12],
    ['-0.5', -0.5],
    ['100.000', 100],
    ['0.000000000000001', 1e-15],
  ])('decodeNumber(%s) is the exact JS number', (text, expected) => {
    expect(decodeNumber(text)).toBe(expected);
  });

  it('gives REMOVE its old image and MODIFY both', () => {
    const row = { PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#1#SN#2', model: 'A' };
    expect(decodeRecord(removeRecord(row))).toMatchObject({ eventName: 'REMOVE', oldImage: row, newImage: undefined });
    expect(decodeRecord(modifyRecord(row, { ...row, model: 'B' }))).toMatchObject({ oldImage: { model: 'A' }, newImage: { model: 'B' } });
  });

  const malformed: Array<[string, DynamoDBRecord, RegExp]> = [
    ['unknown eventName', rawRecord({}, { eventName: 'UPSERT' as never }), /unknown eventName "UPSERT" \[eventID=e-1 PK=AIRCRAFT#REGISTRY#FAA SK=DETAIL#N1\]/],
    ['missing Keys', { eventID: 'e-2', eventName: 'INSERT', dynamodb: { SequenceNumber: '1' } } as DynamoDBRecord, /no dynamodb.Keys \[eventID=e-2 PK=\? SK=\?\]/],
    ['missing SK', { eventID: 'e-3', eventName: 'INSERT', dynamodb: { Keys: { PK: { S: 'P' } } } } as DynamoDBRecord, /Keys has no SK \[eventID=e-3 PK=P SK=\?\]/],
    ['non-string PK', { eventID: 'e-4', eventName: 'INSERT', dynamodb: { Keys: { PK: { N: '1' }, SK: { S: 'S' } } } } as DynamoDBRecord, /key PK is not a string attribute.*\[eventID=e-4/],
    [
      'INSERT without NewImage (KEYS_ONLY stream)',
      insertRecord({ PK: 'P', SK: 'S' }, { eventID: 'e-5', streamViewType: 'KEYS_ONLY' }),
      /INSERT record has no NewImage: the table stream must use StreamViewType NEW_AND_OLD_IMAGES \(it is KEYS_ONLY\) \[eventID=e-5 PK=P SK=S\]/,
    ],
    [
      'MODIFY without OldImage (NEW_IMAGE stream)',
      modifyRecord({ PK: 'P', SK: 'S' }, { PK: 'P', SK: 'S', a: 1 }, { eventID: 'e-6', streamViewType: 'NEW_IMAGE' }),
      /MODIFY record has no OldImage.*NEW_AND_OLD_IMAGES/,
    ],
    ['malformed attribute value', rawRecord({ bad: {} }), /malformed NewImage: No value defined.*\[eventID=e-1/],
    ['invalid number', rawRecord({ bad: { N: 'abc' } }), /malformed NewImage: invalid number \(3 characters\)/],
    ['missing SequenceNumber', rawRecord({}, { dynamodb: { Keys: { PK: { S: 'P' }, SK: { S: 'S' } }, NewImage: { PK: { S: 'P' } } } }), /no SequenceNumber/],
  ];

  it.each(malformed)('rejects %s with an error naming the record', (_, record, message) => {
    let error: unknown;
    try {
      decodeRecord(record);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StreamRecordError);
    expect((error as Error).message).toMatch(message);
  });
});
