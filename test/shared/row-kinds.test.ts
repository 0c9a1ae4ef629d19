import { matchesAnyFilter } from '../../lambda/shared/key-rules';
import { MAX_FILTERS_PER_MAPPING, parseRowKinds, ROW_KIND_NAMES, rowKindFilters, rowKindOf } from '../../lambda/shared/row-kinds';

const record = (PK: string, SK: string) => ({ dynamodb: { Keys: { PK: { S: PK }, SK: { S: SK } } } });

const SOURCE_ROWS: Array<[string, string, string]> = [
  ['faa-registration', 'AIRCRAFT#REGISTRY#FAA', 'DETAIL#N12345'],
  ['foreign-registration', 'AIRCRAFT#REGISTRY#FOREIGN', 'DETAIL#G-ABCD'],
  ['aircraft-image', 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N12345', 'IMG#2026-01-01#a'],
  ['icao-aircraft-type', 'ICAO#AIRCRAFT', 'TYPE#B738'],
  ['icao-manufacturer', 'ICAO#MANUFACTURERS', 'MFR#BOEING'],
  ['icao-variant', 'ICAO#VARIANTS', 'B738#MAX'],
  ['faa-link', 'FAA#LINKS', 'MFR_MDL_CODE#1380116#SN#123'],
];

/** Rows this worker writes: never delivered to an edge subsystem, never a kind. */
const DERIVED_ROWS: Array<[string, string]> = [
  ['IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N12345', 'DEFAULT'],
  ['ICAO#MATCHER#B738', 'MFR#BOEING#MODEL#737-800'],
  ['MATCHER#CONTRIB#MFR_MDL_CODE#1380116#SN#123', 'LINK#FAA#LINKS'],
];

describe('row kinds', () => {
  it.each(SOURCE_ROWS)('%s: %s / %s is its kind and passes the filters', (kind, pk, sk) => {
    expect(rowKindOf({ PK: pk, SK: sk })?.name).toBe(kind);
    expect(matchesAnyFilter(rowKindFilters(), record(pk, sk))).toBe(true);
  });

  it.each(DERIVED_ROWS)('derived row %s / %s is no kind and matches no filter', (pk, sk) => {
    expect(rowKindOf({ PK: pk, SK: sk })).toBeUndefined();
    expect(matchesAnyFilter(rowKindFilters(), record(pk, sk))).toBe(false);
  });

  it('derives at most five filters for every kind together and for each kind alone', () => {
    expect(rowKindFilters().length).toBeLessThanOrEqual(MAX_FILTERS_PER_MAPPING);
    for (const name of ROW_KIND_NAMES) {
      const filters = rowKindFilters([name]);
      expect(filters).toHaveLength(1);
      for (const [kind, pk, sk] of SOURCE_ROWS) expect(matchesAnyFilter(filters, record(pk, sk)) || kind !== name).toBe(true);
    }
  });

  it('a narrowed set receives only its kinds (the exact rule decides what the filter lets through)', () => {
    const kinds = parseRowKinds('faa-link, icao-manufacturer');
    expect(kinds).toEqual(['faa-link', 'icao-manufacturer']);
    expect(rowKindOf({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1' }, kinds)).toBeUndefined();
    expect(matchesAnyFilter(rowKindFilters(kinds), record('AIRCRAFT#REGISTRY#FAA', 'DETAIL#N1'))).toBe(false);
    expect(() => parseRowKinds('faa-links')).toThrow(/unknown row kind "faa-links"/);
  });

  it('registry owner name and address are sensitive', () => {
    expect(rowKindOf({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1' })?.sensitive).toEqual(expect.arrayContaining(['owner_name', 'street', 'city', 'state', 'zip_code']));
  });
});
