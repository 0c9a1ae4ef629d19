import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { decodeRecord } from '../../lambda/shared/decode';
import { owns as subsystemOwns } from '../../lambda/subsystems';
import { planAction } from '../../lambda/typesense-sync/diff';
import { AttributeError, COLLECTION_SCHEMAS, type CollectionSchema, type SearchDocument } from '../../lambda/typesense-sync/documents';
import { documentIdFrom, encodeIdPart } from '../../lambda/typesense-sync/ids';
import { matchIndexedSpec, matchSpec, TYPESENSE_KEY_RULES, TYPESENSE_SPECS, type IndexedSpec } from '../../lambda/typesense-sync/specs';
import { insertRecord } from '../support/events';
import { faaRow, foreignRow, icaoManufacturerRow, icaoTypeRow, imageRow, variantRow, without } from './support/rows';

const indexed = (name: string): IndexedSpec => {
  const spec = TYPESENSE_SPECS.find((s) => s.name === name);
  if (!spec || spec.collection === null) throw new Error(`no indexed spec ${name}`);
  return spec;
};

/** A document is valid for its schema: declared fields only, right types, required present. */
function expectMatchesSchema(doc: SearchDocument, schema: CollectionSchema) {
  const declared = new Map(schema.fields.map((f) => [f.name, f]));
  for (const [name, value] of Object.entries(doc)) {
    if (name === 'id') {
      expect(typeof value).toBe('string');
      continue;
    }
    const field = declared.get(name);
    expect(field).toBeDefined();
    if (field!.type === 'string') expect(typeof value).toBe('string');
    else expect(Number.isInteger(value)).toBe(true);
  }
  for (const field of schema.fields) if (!field.optional) expect(doc).toHaveProperty(field.name);
}

describe('spec matching (DESIGN §3)', () => {
  const cases: [string, { PK: string; SK: string }, string | null][] = [
    ['faa-registry', { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N12345' }, 'registry'],
    ['foreign-registry', { PK: 'AIRCRAFT#REGISTRY#FOREIGN', SK: 'DETAIL#G-ABCD' }, 'registry'],
    ['registration-image', { PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N1', SK: 'IMG#2026-01-01#a' }, 'aircraft_images'],
    ['icao-aircraft-type', { PK: 'ICAO#AIRCRAFT', SK: 'TYPE#B738' }, 'icao_aircraft'],
    ['icao-manufacturer', { PK: 'ICAO#MANUFACTURERS', SK: 'MFR#BOEING' }, 'icao_manufacturers'],
    ['icao-variant', { PK: 'ICAO#VARIANTS', SK: 'anything at all' }, null],
  ];
  it.each(cases)('%s matches its keys', (name, keys, collection) => {
    const spec = matchSpec(keys);
    expect(spec?.name).toBe(name);
    expect(spec?.collection).toBe(collection);
  });

  const misses: [string, { PK: string; SK: string }][] = [
    ['FAA detail with lowercase registration', { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#n123' }],
    ['FAA row that is not a detail', { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'SUMMARY#N1' }],
    ['registry source not known', { PK: 'AIRCRAFT#REGISTRY#MIL', SK: 'DETAIL#N1' }],
    ['image of a non-SYSTEM org', { PK: 'IMAGES#ORG#ACME#ENTITY#REGISTRATION#ID#N1', SK: 'IMG#1' }],
    ['image of an ICAO entity', { PK: 'IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#B738', SK: 'IMG#1' }],
    ['default-image pointer row', { PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N1', SK: 'DEFAULT' }],
    ['image entity id with #', { PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N1#X', SK: 'IMG#1' }],
    ['ICAO type designator too long', { PK: 'ICAO#AIRCRAFT', SK: 'TYPE#B7378' }],
    ['ICAO type, wrong SK prefix', { PK: 'ICAO#AIRCRAFT', SK: 'VARIANT#B738' }],
    ['ICAO manufacturer with # in code', { PK: 'ICAO#MANUFACTURERS', SK: 'MFR#A#B' }],
    ['matcher tuple row', { PK: 'ICAO#MATCHER#B738', SK: 'MFR#BOEING#MODEL#737' }],
    ['FAA link row', { PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#1#SN#2' }],
  ];
  it.each(misses)('no spec for: %s', (_name, keys) => {
    expect(matchSpec(keys)).toBeUndefined();
    expect(matchIndexedSpec(keys)).toBeUndefined();
  });

  it('ICAO#VARIANTS has a spec but no collection: not owned, not in the key rules', () => {
    const keys = { PK: 'ICAO#VARIANTS', SK: 'VARIANT#1' };
    expect(matchSpec(keys)?.collection).toBeNull();
    expect(matchIndexedSpec(keys)).toBeUndefined();
    expect(subsystemOwns('typesense-sync', keys)).toBe(false);
    expect(TYPESENSE_KEY_RULES.map((r) => JSON.stringify(r))).not.toContain(JSON.stringify(matchSpec(keys)!.keys));
    expect(TYPESENSE_KEY_RULES).toHaveLength(5);
  });

  it('the subsystem filter rules and the exact specs agree on every case above', () => {
    for (const [, keys] of [...cases.map(([n, k]) => [n, k] as const), ...misses]) {
      expect(subsystemOwns('typesense-sync', keys)).toBe(matchIndexedSpec(keys) !== undefined);
    }
  });
});

describe('toDocument', () => {
  it('registry (FAA): the searchable fields, registry source, no unlisted attribute', () => {
    const doc = indexed('faa-registry').toDocument(faaRow('N12345', { secret_note: 'x' }));
    expect(doc).toEqual({
      id: 'faa.N12345',
      registry_source: 'FAA',
      registration: 'N12345',
      manufacturer: 'CESSNA',
      model: '172S',
      type_designator: 'C172',
      serial_number: '172S10001',
      year_manufactured: 2004,
      owner_name: 'JANE DOE',
      city: 'WICHITA',
      state: 'KS',
      country: 'US',
      status: 'V',
      mfr_mdl_code: '2072738',
      mode_s_hex: 'A1B2C3',
    });
  });

  it('registry (FOREIGN): optional fields absent are omitted, strings trimmed', () => {
    const doc = indexed('foreign-registry').toDocument(foreignRow('G-ABCD', { model: '  PA-28 ', owner_name: '   ' }));
    expect(doc).toEqual({ id: 'foreign.G-ABCD', registry_source: 'FOREIGN', registration: 'G-ABCD', manufacturer: 'PIPER', model: 'PA-28', country: 'GB' });
  });

  it('image: url, caption, dimensions, registration from the key', () => {
    const doc = indexed('registration-image').toDocument(imageRow('N12345', '2026-01-02T03:04:05Z#img1'));
    expect(doc).toEqual({
      id: 'N12345.2026-01-02T03_3A04_3A05Z_23img1',
      registration: 'N12345',
      image_id: 'img1',
      url: 'https://img.example/1.jpg',
      thumbnail_url: 'https://img.example/1-t.jpg',
      caption: 'On final',
      credit: 'A. Spotter',
      width: 1920,
      height: 1080,
      created_at: '2026-01-02T03:04:05Z',
    });
  });

  it('ICAO aircraft type: designator, manufacturer, model, description, engines, wake category', () => {
    expect(indexed('icao-aircraft-type').toDocument(icaoTypeRow('B738'))).toEqual({
      id: 'B738',
      type_designator: 'B738',
      manufacturer: 'BOEING',
      model: '737-800',
      description: 'L2J',
      engine_type: 'Jet',
      engine_count: 2,
      wake_category: 'M',
    });
  });

  it('ICAO manufacturer: code, name, country', () => {
    expect(indexed('icao-manufacturer').toDocument(icaoManufacturerRow('DE HAVILLAND'))).toEqual({
      id: 'DE_20HAVILLAND',
      code: 'DE HAVILLAND',
      name: 'The Boeing Company',
      country: 'US',
    });
  });

  const incomplete: [string, () => Record<string, unknown> & { PK: string; SK: string }][] = [
    ['faa-registry', () => without(faaRow(), 'registration')],
    ['faa-registry', () => without(faaRow(), 'manufacturer')],
    ['faa-registry', () => faaRow('N1', { model: '  ' })],
    ['foreign-registry', () => without(foreignRow(), 'model')],
    ['registration-image', () => without(imageRow(), 'url')],
    ['registration-image', () => without(imageRow(), 'image_id')],
    ['icao-aircraft-type', () => without(icaoTypeRow(), 'type_designator')],
    ['icao-aircraft-type', () => without(icaoTypeRow(), 'model')],
    ['icao-manufacturer', () => without(icaoManufacturerRow(), 'name')],
    ['icao-manufacturer', () => icaoManufacturerRow('X', { code: null })],
  ];
  it.each(incomplete)('%s: null when a required field is missing (%#)', (name, row) => {
    expect(indexed(name).toDocument(row())).toBeNull();
  });

  it('every complete document fits its collection schema', () => {
    const rows = [faaRow(), foreignRow(), imageRow(), icaoTypeRow(), icaoManufacturerRow()];
    for (const row of rows) {
      const spec = matchIndexedSpec(row)!;
      const doc = spec.toDocument(row)!;
      expectMatchesSchema(doc, spec.schema);
    }
  });

  it('a wrong attribute type is an AttributeError, even for an optional field', () => {
    expect(() => indexed('faa-registry').toDocument(faaRow('N1', { owner_name: 42 }))).toThrow(AttributeError);
    expect(() => indexed('faa-registry').toDocument(faaRow('N1', { year_manufactured: '2004' }))).toThrow(/year_manufactured: expected a number/);
    expect(() => indexed('registration-image').toDocument(imageRow('N1', 'x', { width: 1.5 }))).toThrow(/width: number 1.5 is not an int32/);
    expect(() => indexed('icao-aircraft-type').toDocument(icaoTypeRow('B738', { engine_count: 2 ** 31 }))).toThrow(/not an int32/);
  });
});

describe('numbers are never silently rounded (DESIGN §8)', () => {
  it('toDocument refuses a NumberValue (beyond 2^53) in an int field', () => {
    const row = faaRow('N1', { year_manufactured: NumberValue.from('12345678901234567890') });
    expect(() => indexed('faa-registry').toDocument(row)).toThrow(/12345678901234567890 is not exactly representable/);
  });

  it('a record whose new image holds such a number is not skipped: its trigger goes out and the problem is reported naming the attribute', () => {
    const record = insertRecord(imageRow('N1', 'a', { width: 9007199254740993n }), { eventID: 'evt-big' });
    const change = decodeRecord(record);
    const problems: string[] = [];
    const plan = planAction(change, (which, error) => problems.push(`${which} ${error.message}`));
    expect(plan).toMatchObject({ action: 'trigger', hint: 'upsert', collection: 'aircraft_images' });
    expect(problems).toEqual([expect.stringMatching(/^NewImage attribute width: number 9007199254740993/)]);
  });

  it('more than 15 significant digits also refuses; an exactly representable number passes', () => {
    const spec = indexed('icao-aircraft-type');
    const precise = decodeRecord(insertRecord(icaoTypeRow('B738', { engine_count: NumberValue.from('2.0000000000000001') })));
    expect(() => spec.toDocument(precise.newImage!)).toThrow(/not exactly representable/);
    const exact = decodeRecord(insertRecord(icaoTypeRow('B738', { engine_count: NumberValue.from('2.000000000000000000') })));
    expect(spec.toDocument(exact.newImage!)?.engine_count).toBe(2);
  });
});

describe('document ids', () => {
  it('FAA and FOREIGN registrations of one registration get distinct ids in the shared collection', () => {
    const faa = indexed('faa-registry').documentId({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1' });
    const foreign = indexed('foreign-registry').documentId({ PK: 'AIRCRAFT#REGISTRY#FOREIGN', SK: 'DETAIL#N1' });
    expect(faa).toBe('faa.N1');
    expect(foreign).toBe('foreign.N1');
  });

  it('are URL-safe and deterministic', () => {
    const keys = { PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N1/../x', SK: 'IMG#2026 01 é?&=%' };
    const id = indexed('registration-image').documentId(keys);
    expect(id).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(encodeURIComponent(id)).toBe(id);
    expect(indexed('registration-image').documentId({ ...keys })).toBe(id);
  });

  it('the part encoding is injective (different parts never share an id)', () => {
    const pairs: [string[], string[]][] = [
      [['a.b'], ['a', 'b']],
      [['a_2E'], ['a.']],
      [['a_'], ['a_5F']],
      [[''], ['_']],
      [['a-b'], ['a#b']],
    ];
    for (const [x, y] of pairs) expect(documentIdFrom(...x)).not.toBe(documentIdFrom(...y));
    expect(encodeIdPart('_')).toBe('_5F');
  });
});

describe('collection schemas', () => {
  it('one schema per collection, every collection of a spec has one', () => {
    const names = COLLECTION_SCHEMAS.map((s) => s.name);
    expect(names.sort()).toEqual(['aircraft_images', 'icao_aircraft', 'icao_manufacturers', 'registry']);
    for (const spec of TYPESENSE_SPECS) {
      if (spec.collection !== null) expect(COLLECTION_SCHEMAS).toContain(spec.schema);
    }
  });

  it('non-indexed fields are optional (Typesense requires it); required fields are not optional', () => {
    const images = COLLECTION_SCHEMAS.find((s) => s.name === 'aircraft_images')!;
    expect(images.fields.find((f) => f.name === 'url')).toEqual({ name: 'url', type: 'string', optional: true, index: false });
    expect(images.fields.find((f) => f.name === 'image_id')).toEqual({ name: 'image_id', type: 'string' });
    const registry = COLLECTION_SCHEMAS.find((s) => s.name === 'registry')!;
    expect(registry.fields.find((f) => f.name === 'registry_source')).toEqual({ name: 'registry_source', type: 'string', facet: true });
  });

  it('variant rows never produce a document: no spec with a collection', () => {
    expect(matchIndexedSpec(variantRow())).toBeUndefined();
  });
});
