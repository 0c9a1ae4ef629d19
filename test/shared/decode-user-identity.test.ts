import { decodeRecord } from '../../lambda/shared/decode';
import { insertRecord, removeRecord } from '../support/events';

const row = { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1', registration: 'N1' };
const TTL = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };

describe('decodeRecord: userIdentity', () => {
  it('keeps the userIdentity of a TTL deletion, with or without images', () => {
    const record = { ...removeRecord(row), userIdentity: TTL };
    expect(decodeRecord(record).userIdentity).toEqual(TTL);
    expect(decodeRecord(record, { images: false }).userIdentity).toEqual(TTL);
  });

  it('has none when the record carries none, or one of another shape', () => {
    expect('userIdentity' in decodeRecord(insertRecord(row))).toBe(false);
    expect('userIdentity' in decodeRecord({ ...removeRecord(row), userIdentity: { type: 7 } })).toBe(false);
  });
});
