import fc from 'fast-check';
import { decide, matcherFields, sameTuple, type Tuple } from '../../lambda/faa-matcher-sync/domain';
import { contributionKey, matcherTupleKey } from '../../lambda/faa-matcher-sync/keys';
import { backoffDelay, classifyDynamoError, DEFAULT_RETRY_POLICY } from '../../lambda/faa-matcher-sync/retry';
import { NumberValueImpl } from '@aws-sdk/util-dynamodb';
import { matchesAnyFilter } from '../../lambda/shared/key-rules';
import { filterPatterns, owns, SUBSYSTEM_NAMES } from '../../lambda/subsystems';

const A: Tuple = { type_designator: 'C172', manufacturer: 'Cessna', model: '172' };
const B: Tuple = { type_designator: 'B738', manufacturer: 'Boeing', model: '737-800' };

describe('matcherFields', () => {
  it('trims all three fields and upper-cases only the type designator', () => {
    expect(matcherFields({ type_designator: '  c172 ', manufacturer: ' Cessna\t', model: '\n172s ' })).toEqual({
      type_designator: 'C172',
      manufacturer: 'Cessna',
      model: '172s',
    });
  });

  it.each([
    ['missing type designator', { manufacturer: 'Cessna', model: '172' }],
    ['blank manufacturer', { type_designator: 'C172', manufacturer: '   ', model: '172' }],
    ['empty model', { type_designator: 'C172', manufacturer: 'Cessna', model: '' }],
    ['numeric model', { type_designator: 'C172', manufacturer: 'Cessna', model: 172 }],
    ['exact-number model', { type_designator: 'C172', manufacturer: 'Cessna', model: NumberValueImpl.from('172') }],
    ['null field', { type_designator: null, manufacturer: 'Cessna', model: '172' }],
    ['set field', { type_designator: ['C172'], manufacturer: 'Cessna', model: '172' }],
  ])('is null for %s', (_, item) => {
    expect(matcherFields(item)).toBeNull();
  });

  it('is null without an image', () => {
    expect(matcherFields(undefined)).toBeNull();
  });

  it('is idempotent and never yields blank or untrimmed fields (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (td, mfr, model) => {
        const t = matcherFields({ type_designator: td, manufacturer: mfr, model });
        const valid = td.trim() !== '' && mfr.trim() !== '' && model.trim() !== '';
        if (!valid) return t === null;
        return (
          t !== null &&
          t.type_designator === td.trim().toUpperCase() &&
          t.manufacturer === mfr.trim() &&
          t.model === model.trim() &&
          sameTuple(matcherFields({ ...t }), t)
        );
      }),
    );
  });
});

describe('decide (level-triggered: recorded vs desired, no history)', () => {
  it.each([
    ['gains valid fields', null, A, { kind: 'increment', to: A }],
    ['loses them, or is deleted', A, null, { kind: 'decrement', from: A }],
    ['fields changed', A, B, { kind: 'move', from: A, to: B }],
    ['unchanged (same counted row)', A, { ...A }, { kind: 'none' }],
    ['counts toward nothing, and should not', null, null, { kind: 'none' }],
  ] as const)('%s', (_, recorded, desired, expected) => {
    expect(decide(recorded, desired)).toEqual(expected);
  });

  it('conserves counts: applying the decision to `recorded` yields `desired` (property)', () => {
    const tuple = fc.option(
      fc.record({
        type_designator: fc.constantFrom('C172', 'B738'),
        manufacturer: fc.constantFrom('Cessna', 'Boeing'),
        model: fc.constantFrom('172', '737'),
      }),
    );
    fc.assert(
      fc.property(tuple, tuple, (recorded, desired) => {
        const d = decide(recorded, desired);
        const result = d.kind === 'increment' || d.kind === 'move' ? d.to : d.kind === 'decrement' ? null : recorded;
        if (d.kind === 'decrement' || d.kind === 'move') expect(sameTuple(d.from, recorded)).toBe(true);
        return sameTuple(result, desired);
      }),
    );
  });
});

describe('keys', () => {
  const linkKeys = { PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#2072738#SN#17280001' };

  it('matcher tuple rows use the DESIGN §2 keys', () => {
    expect(matcherTupleKey(A)).toEqual({ PK: 'ICAO#MATCHER#C172', SK: 'MFR#Cessna#MODEL#172' });
  });

  it('contribution rows get one partition per link', () => {
    expect(contributionKey(linkKeys)).toEqual({ PK: 'MATCHER#CONTRIB#MFR_MDL_CODE#2072738#SN#17280001', SK: 'LINK#FAA#LINKS' });
    expect(contributionKey({ ...linkKeys, SK: 'MFR_MDL_CODE#1#SN#2' }).PK).not.toBe(contributionKey(linkKeys).PK);
  });

  const streamRecord = (keys: { PK: string; SK: string }) => ({
    eventName: 'INSERT',
    dynamodb: { Keys: { PK: { S: keys.PK }, SK: { S: keys.SK } } },
  });

  it('the link itself is delivered to faa-matcher-sync (sanity check of the filter evaluation)', () => {
    expect(matchesAnyFilter(filterPatterns('faa-matcher-sync'), streamRecord(linkKeys))).toBe(true);
  });

  it('no row this subsystem writes matches any mapping filter or any exact rule (property)', () => {
    const text = fc.string({ minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(text, text, text, text, text, (td, mfr, model, code, serial) => {
        const tuple = matcherFields({ type_designator: td, manufacturer: mfr, model });
        const rows = [contributionKey({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#${code}#SN#${serial}` })];
        if (tuple) rows.push(matcherTupleKey(tuple));
        for (const keys of rows) {
          for (const name of SUBSYSTEM_NAMES) {
            if (matchesAnyFilter(filterPatterns(name), streamRecord(keys))) return false;
            if (owns(name, keys)) return false;
          }
        }
        return true;
      }),
    );
  });
});

describe('error classification and backoff', () => {
  const canceled = (...codes: string[]) =>
    Object.assign(new Error(`Transaction cancelled [${codes.join(', ')}]`), {
      name: 'TransactionCanceledException',
      CancellationReasons: codes.map((Code) => ({ Code })),
    });

  const named = (name: string) => Object.assign(new Error('x'), { name });
  it.each([
    ['contribution condition failed', canceled('ConditionalCheckFailed', 'None'), { kind: 'condition', code: 'ConditionalCheckFailed', failed: [0] }],
    ['tuple condition failed', canceled('None', 'None', 'ConditionalCheckFailed'), { kind: 'condition', code: 'ConditionalCheckFailed', failed: [2] }],
    ['transaction conflict', canceled('None', 'TransactionConflict'), { kind: 'retryable', code: 'TransactionConflict' }],
    ['throttled item', canceled('ThrottlingError', 'None'), { kind: 'retryable', code: 'ThrottlingError' }],
    ['throughput exceeded item', canceled('None', 'ProvisionedThroughputExceeded'), { kind: 'retryable', code: 'ProvisionedThroughputExceeded' }],
    ['validation error item', canceled('ValidationError', 'None'), { kind: 'fatal', code: 'TransactionCanceled[ValidationError,None]' }],
    ['ThrottlingException', named('ThrottlingException'), { kind: 'retryable', code: 'ThrottlingException' }],
    ['ProvisionedThroughputExceededException', named('ProvisionedThroughputExceededException'), { kind: 'retryable', code: 'ProvisionedThroughputExceededException' }],
    ['RequestLimitExceeded', named('RequestLimitExceeded'), { kind: 'retryable', code: 'RequestLimitExceeded' }],
    ['TransactionConflictException', named('TransactionConflictException'), { kind: 'retryable', code: 'TransactionConflictException' }],
    ['ValidationException', named('ValidationException'), { kind: 'fatal', code: 'ValidationException' }],
  ])('classifies %s', (_, error, expected) => {
    expect(classifyDynamoError(error)).toEqual(expected);
  });

  it('reads the reasons from the message when CancellationReasons is absent', () => {
    const e = Object.assign(new Error('Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]'), {
      name: 'TransactionCanceledException',
    });
    expect(classifyDynamoError(e)).toEqual({ kind: 'retryable', code: 'TransactionConflict' });
  });

  it('backs off exponentially within bounds', () => {
    const p = DEFAULT_RETRY_POLICY;
    expect([1, 2, 3].map((n) => backoffDelay(n, p, () => 1))).toEqual([50, 100, 200]);
    expect(backoffDelay(1, p, () => 0)).toBe(25);
    expect(backoffDelay(30, p, () => 1)).toBe(p.maxDelayMs);
  });
});
