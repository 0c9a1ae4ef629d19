import fc from 'fast-check';
import { contributionKey, matcherTupleKey } from '../../lambda/faa-matcher-sync/keys';
import { defaultPointerKey } from '../../lambda/image-sync/keys';
import { matchesAnyFilter, type RowKeys } from '../../lambda/shared/key-rules';
import { owns, SUBSYSTEM_NAMES, type SubsystemName } from '../../lambda/subsystems';
import { insertRecord, modifyRecord, removeRecord } from '../support/events';
import { synthStack } from './synth';

/** The filter patterns as synthesized into the template, per subsystem. */
function synthesizedPatterns(): Record<SubsystemName, unknown[]> {
  const { template } = synthStack();
  const functions = template.findResources('AWS::Lambda::Function');
  const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
  const result = {} as Record<SubsystemName, unknown[]>;
  for (const name of SUBSYSTEM_NAMES) {
    const fnId = Object.entries(functions).find(([, f]) => f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === name)![0];
    const mapping = mappings.find((m) => m.Properties.FunctionName.Ref === fnId)!;
    result[name] = mapping.Properties.FilterCriteria.Filters.map((f: { Pattern: string }) => JSON.parse(f.Pattern));
  }
  return result;
}

const link = { PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#1384412#SN#28457' };
const systemRegistration = { orgId: 'SYSTEM', entityType: 'REGISTRATION', entityId: 'N12345' } as const;
const orgRegistration = { orgId: 'acme', entityType: 'REGISTRATION', entityId: 'N12345' } as const;
const icaoEntity = { orgId: 'SYSTEM', entityType: 'ICAO', entityId: 'B738' } as const;

/** Every row shape of DESIGN §2, with the subsystems that must receive it. */
const ROWS: Array<{ row: string; keys: RowKeys; owners: SubsystemName[] }> = [
  { row: 'FAA registry detail', keys: { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N12345' }, owners: ['typesense-sync'] },
  { row: 'foreign registry detail', keys: { PK: 'AIRCRAFT#REGISTRY#FOREIGN', SK: 'DETAIL#G-ABCD' }, owners: ['typesense-sync'] },
  {
    row: 'SYSTEM registration image',
    keys: { PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N12345', SK: 'IMG#2026-05-01T10:00:00Z#a1' },
    owners: ['typesense-sync', 'image-sync'],
  },
  {
    row: 'org registration image',
    keys: { PK: 'IMAGES#ORG#acme#ENTITY#REGISTRATION#ID#N12345', SK: 'IMG#2026-05-01T10:00:00Z#b2' },
    owners: ['image-sync'],
  },
  { row: 'ICAO type image', keys: { PK: 'IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#B738', SK: 'IMG#2026-05-01T10:00:00Z#c3' }, owners: ['image-sync'] },
  { row: 'default pointer (SYSTEM registration)', keys: defaultPointerKey(systemRegistration), owners: [] },
  { row: 'default pointer (org registration)', keys: defaultPointerKey(orgRegistration), owners: [] },
  { row: 'default pointer (ICAO)', keys: defaultPointerKey(icaoEntity), owners: [] },
  { row: 'ICAO aircraft type', keys: { PK: 'ICAO#AIRCRAFT', SK: 'TYPE#B738' }, owners: ['typesense-sync'] },
  { row: 'ICAO manufacturer', keys: { PK: 'ICAO#MANUFACTURERS', SK: 'MFR#BOEING' }, owners: ['typesense-sync'] },
  { row: 'ICAO variant', keys: { PK: 'ICAO#VARIANTS', SK: 'VARIANT#B738#737-800' }, owners: [] },
  { row: 'FAA link', keys: link, owners: ['faa-matcher-sync'] },
  { row: 'matcher tuple', keys: matcherTupleKey({ type_designator: 'B738', manufacturer: 'BOEING', model: '737-8H4' }), owners: [] },
  { row: 'matcher contribution (ledger)', keys: contributionKey(link), owners: [] },
];

const events = (keys: RowKeys) => {
  const row = { ...keys, some: 'attribute' };
  return [
    ['INSERT', insertRecord(row)],
    ['MODIFY', modifyRecord(row, { ...row, some: 'changed' })],
    ['REMOVE', removeRecord(row)],
  ] as const;
};

describe('ownership: each row reaches exactly its owners', () => {
  const patterns = synthesizedPatterns();

  describe.each(ROWS)('$row', ({ keys, owners }) => {
    it.each(events(keys).map(([name, record]) => [name, record]))('%s is delivered by the synthesized filters to exactly its owners', (_, record) => {
      const delivered = SUBSYSTEM_NAMES.filter((name) => matchesAnyFilter(patterns[name], record));
      expect(delivered).toEqual(owners);
    });

    it('is claimed by exactly its owners under the handlers\' exact rules', () => {
      expect(SUBSYSTEM_NAMES.filter((name) => owns(name, keys))).toEqual(owners);
    });
  });

  it('the exact rules are never wider than the filters: whatever a handler owns, its mapping delivers', () => {
    const part = fc.oneof(
      fc.constantFrom('AIRCRAFT#REGISTRY#FAA', 'AIRCRAFT#REGISTRY#FOREIGN', 'ICAO#AIRCRAFT', 'ICAO#MANUFACTURERS', 'ICAO#VARIANTS', 'FAA#LINKS', 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#', 'IMAGES#ORG#x#ENTITY#ICAO#ID#'),
      fc.constant(''),
    );
    const sk = fc.constantFrom('DETAIL#', 'IMG#', 'TYPE#', 'MFR#', 'MFR_MDL_CODE#', 'DEFAULT', '');
    const tail = fc.stringMatching(/^[A-Z0-9#-]{0,12}$/);
    fc.assert(
      fc.property(part, tail, sk, tail, (pk, pkTail, skHead, skTail) => {
        const keys = { PK: pk + pkTail, SK: skHead + skTail };
        if (keys.PK === '' || keys.SK === '') return;
        for (const name of SUBSYSTEM_NAMES) {
          if (owns(name, keys)) expect(matchesAnyFilter(patterns[name], insertRecord(keys))).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
