import { equals, keyPartRegex, matchesAnyFilter, matchesFilterPattern, prefix, ruleMatches, toFilterPattern } from '../../lambda/shared/key-rules';

describe('key rules', () => {
  it('derive the regex from the same parts as the filter, escaping literals', () => {
    expect(keyPartRegex(equals('A.B#C')).test('A.B#C')).toBe(true);
    expect(keyPartRegex(equals('A.B#C')).test('AxB#C')).toBe(false);
    expect(keyPartRegex(prefix('TYPE#', '[A-Z0-9]{2,4}')).test('TYPE#B738')).toBe(true);
    expect(keyPartRegex(prefix('TYPE#', '[A-Z0-9]{2,4}')).test('TYPE#B7380')).toBe(false);
    expect(keyPartRegex(prefix('TYPE#', '[A-Z0-9]{2,4}')).test('XTYPE#B738')).toBe(false);
  });

  it('match a row only when both PK and SK match', () => {
    const rule = { PK: equals('FAA#LINKS'), SK: prefix('MFR_MDL_CODE#', '[^#]+#SN#.+') };
    expect(ruleMatches(rule, { PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#1#SN#2' })).toBe(true);
    expect(ruleMatches(rule, { PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#1' })).toBe(false);
    expect(ruleMatches(rule, { PK: 'FAA#LINKSX', SK: 'MFR_MDL_CODE#1#SN#2' })).toBe(false);
  });

  it('produce the Lambda filter grammar on dynamodb.Keys', () => {
    expect(toFilterPattern({ PK: equals('ICAO#AIRCRAFT'), SK: prefix('TYPE#') })).toEqual({
      dynamodb: { Keys: { PK: { S: ['ICAO#AIRCRAFT'] }, SK: { S: [{ prefix: 'TYPE#' }] } } },
    });
  });
});

describe('filter pattern evaluation (Lambda grammar subset)', () => {
  const record = { eventName: 'REMOVE', dynamodb: { Keys: { PK: { S: 'FAA#LINKS' }, SK: { S: 'MFR_MDL_CODE#1#SN#2' } } } };

  it('matches exact values and prefixes, with arrays as OR', () => {
    expect(matchesFilterPattern({ dynamodb: { Keys: { PK: { S: ['X', 'FAA#LINKS'] } } } }, record)).toBe(true);
    expect(matchesFilterPattern({ dynamodb: { Keys: { SK: { S: [{ prefix: 'MFR_MDL_CODE#' }] } } } }, record)).toBe(true);
    expect(matchesFilterPattern({ dynamodb: { Keys: { SK: { S: [{ prefix: 'MFR#' }] } } } }, record)).toBe(false);
    expect(matchesFilterPattern({ eventName: ['INSERT', 'MODIFY'] }, record)).toBe(false);
  });

  it('treats a missing field as no match, except for exists:false', () => {
    expect(matchesFilterPattern({ dynamodb: { NewImage: { PK: { S: [{ prefix: '' }] } } } }, record)).toBe(false);
    expect(matchesFilterPattern({ dynamodb: { NewImage: [{ exists: false }] } }, record)).toBe(true);
    expect(matchesFilterPattern({ dynamodb: { Keys: [{ exists: true }] } }, record)).toBe(true);
  });

  it('requires every field of a pattern, and any pattern of a mapping', () => {
    const pk = { dynamodb: { Keys: { PK: { S: ['FAA#LINKS'] }, SK: { S: [{ prefix: 'NOPE' }] } } } };
    expect(matchesFilterPattern(pk, record)).toBe(false);
    expect(matchesAnyFilter([pk, { eventName: ['REMOVE'] }], record)).toBe(true);
  });

  it('rejects operators it does not implement instead of guessing', () => {
    expect(() => matchesFilterPattern({ eventName: [{ 'anything-but': 'X' }] }, record)).toThrow(/Unsupported filter operator/);
  });
});
