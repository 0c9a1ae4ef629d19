import { Logger } from '@aws-lambda-powertools/logger';
import { decodeRecord } from '../../lambda/shared/decode';
import { batchSummary, logRecord } from '../../lambda/shared/log';
import { insertRecord, modifyRecord, removeRecord } from '../support/events';

/**
 * The per-record log line moved to DEBUG (issue 12 §5: at INFO it was ~40 % of typesense-sync's
 * CPU per record); INFO keeps a per-batch summary. Neither carries an image (docs/architecture.md, what is logged).
 */
const row = (n: number, owner = 'Secret Owner') => ({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: `DETAIL#N${n}`, owner_name: owner, city: 'WICHITA' });
const capture = (level: 'INFO' | 'DEBUG') => {
  const logger = new Logger({ serviceName: 'record-log-test', logLevel: level });
  return { logger, debug: jest.spyOn(logger, 'debug').mockImplementation(() => undefined) };
};

describe('per-record log line', () => {
  it('at DEBUG: one compact line per record (eventName, PK, SK, size, eventID), never the image', () => {
    const { logger, debug } = capture('DEBUG');
    const record = modifyRecord(row(1, 'Old Owner'), row(1));
    logRecord(logger, decodeRecord(record, { images: true }));
    expect(debug).toHaveBeenCalledTimes(1);
    expect(debug).toHaveBeenCalledWith('stream record', {
      eventName: 'MODIFY',
      pk: 'AIRCRAFT#REGISTRY#FAA',
      sk: 'DETAIL#N1',
      sizeBytes: record.dynamodb!.SizeBytes,
      eventID: record.eventID,
    });
    expect(JSON.stringify(debug.mock.calls)).not.toMatch(/Secret Owner|Old Owner|WICHITA/);
  });

  it('at INFO: nothing is logged (or built) per record', () => {
    const { logger, debug } = capture('INFO');
    const info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    logRecord(logger, decodeRecord(insertRecord(row(1)), { images: true }));
    expect(debug).not.toHaveBeenCalled();
    expect(info).not.toHaveBeenCalled();
  });
});

describe('per-batch summary', () => {
  it('counts received and owned records by eventName, with the batch stream position and no keys or images', () => {
    const records = [insertRecord(row(1)), modifyRecord(row(2), row(2, 'New')), removeRecord(row(3)), insertRecord(row(4))];
    const owned = [records[0]!, records[1]!, records[3]!].map((r) => decodeRecord(r, { images: true }));
    const summary = batchSummary(records, owned);
    expect(summary).toEqual({
      recordsReceived: 4,
      recordsOwned: 3,
      eventNames: { INSERT: 2, MODIFY: 1 },
      firstSequenceNumber: records[0]!.dynamodb!.SequenceNumber,
      lastSequenceNumber: records[3]!.dynamodb!.SequenceNumber,
    });
    expect(JSON.stringify(summary)).not.toMatch(/Secret Owner|DETAIL#/);
  });
});
