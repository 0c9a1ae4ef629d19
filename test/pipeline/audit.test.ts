import { contributionKey, matcherTupleKey } from '../../lambda/faa-matcher-sync/keys';
import type { Item } from '../../lambda/shared/decode';
import { matchIndexedSpec } from '../../lambda/typesense-sync/specs';
import { audit, type IndexSnapshot } from '../../ops/invariants';
import { generateDataset, SAMPLE_DATASET_OPTIONS } from '../../local/dataset';

const reg: Item = { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1', registration: 'N1', manufacturer: 'CESSNA', model: '172S' };
const img = (sk: string, url: string): Item => ({
  PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N1',
  SK: sk,
  org_id: 'SYSTEM',
  entity_type: 'REGISTRATION',
  entity_id: 'N1',
  image_id: sk,
  url,
});
const pointer = (image: Item): Item => ({ PK: image.PK, SK: 'DEFAULT', image_sk: image.SK, image_id: image.image_id, url: image.url, updated_at: 'x' });
const link = (sn: string, type_designator = 'C172'): Item => ({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#2072738#SN#${sn}`, type_designator, manufacturer: 'CESSNA', model: '172S' });
const tuple = (count: number): Item => ({ ...matcherTupleKey({ type_designator: 'C172', manufacturer: 'CESSNA', model: '172S' }), count });

/** The index a correct pipeline would hold for these rows. */
function projection(rows: readonly Item[]): Map<string, Map<string, unknown>> {
  const index = new Map<string, Map<string, unknown>>();
  for (const row of rows) {
    const spec = matchIndexedSpec({ PK: String(row.PK), SK: String(row.SK) });
    const doc = spec?.toDocument(row);
    if (!spec || !doc) continue;
    index.set(spec.collection, (index.get(spec.collection) ?? new Map()).set(spec.documentId({ PK: String(row.PK), SK: String(row.SK) }), doc));
  }
  return index;
}

describe('consistency audit', () => {
  const a = img('IMG#1', 'u1');
  const b = img('IMG#2', 'u2');
  const consistent = [reg, a, b, pointer(b), link('1'), link('2'), tuple(2)];

  it('finds no drift in a consistent state, and checks every kind', () => {
    const result = audit(consistent, projection(consistent));
    expect(result.drift).toEqual([]);
    expect(result.checked).toEqual({ documents: 3, entities: 1, tuples: 1 });
  });

  it('I1: missing, stale and orphan documents', () => {
    const index = projection(consistent);
    const registry = index.get('registry')!;
    const [id] = [...registry.keys()];
    registry.set(id!, { ...(registry.get(id!) as object), model: 'old' });
    registry.set('faa_N999', { id: 'faa_N999' });
    index.get('aircraft_images')!.clear();
    const problems = audit(consistent, index).drift.map((d) => `${d.invariant} ${d.problem}`);
    expect(problems.sort()).toEqual(['I1 in the index but not in the table', 'I1 missing from the index', 'I1 missing from the index', 'I1 stale document in the index']);
  });

  it.each([
    ['no pointer', [a, b], 'entity has images but no pointer'],
    ['pointer to a missing image', [a, pointer(b)], 'pointer names missing image IMG#2'],
    ['pointer without images', [pointer(b)], 'pointer exists but the entity has no images'],
    ['unrepaired pointer', [a, b, { ...pointer(b), url: 'old' }], 'pointer field url differs from image IMG#2'],
  ])('I2: %s', (_, rows, problem) => {
    expect(audit(rows as Item[], projection(rows as Item[])).drift).toEqual([expect.objectContaining({ invariant: 'I2', problem })]);
  });

  it('I2: a pointer to an older image that exists is a valid (user) choice', () => {
    const rows = [a, b, pointer(a)];
    expect(audit(rows, projection(rows)).drift).toEqual([]);
  });

  it.each([
    ['wrong count', [link('1'), tuple(2)], /count 2, links 1/],
    ['missing tuple', [link('1')], /count missing, links 1/],
    ['tuple with no links', [tuple(0)], /tuple row with count 0 but no link/],
  ])('I3: %s', (_, rows, problem) => {
    const drift = audit(rows as Item[], new Map() as IndexSnapshot).drift;
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({ invariant: 'I3', problem: expect.stringMatching(problem) });
  });

  it('every finding names its row key and the keys whose reconcile repairs it', () => {
    const tupleKey = matcherTupleKey({ type_designator: 'C172', manufacturer: 'CESSNA', model: '172S' });
    const index = projection([reg]);
    index.get('registry')!.set('faa_N999', { id: 'faa_N999' });
    const rows = [reg, a, b, { ...pointer(b), url: 'old' }, link('1'), tuple(2)];
    const found = audit(rows, index).drift.map(({ invariant, pk, sk, collection, id, repair }) => ({ invariant, pk, sk, collection, id, repair }));
    expect(found).toEqual([
      { invariant: 'I1', pk: null, sk: null, collection: 'registry', id: 'faa_N999', repair: [] },
      { invariant: 'I1', pk: a.PK, sk: 'IMG#1', collection: 'aircraft_images', id: expect.any(String), repair: [{ PK: a.PK, SK: 'IMG#1' }] },
      { invariant: 'I1', pk: b.PK, sk: 'IMG#2', collection: 'aircraft_images', id: expect.any(String), repair: [{ PK: b.PK, SK: 'IMG#2' }] },
      { invariant: 'I2', pk: a.PK, sk: 'DEFAULT', collection: undefined, id: undefined, repair: [{ PK: a.PK, SK: 'DEFAULT' }] },
      // A tuple's count is repaired by a recount and by its links' own findings (none before the ledger exists).
      { invariant: 'I3', pk: tupleKey.PK, sk: tupleKey.SK, collection: undefined, id: undefined, repair: [] },
    ]);
  });

  describe('I3 contribution rows (the matcher ledger)', () => {
    const tupleKey = matcherTupleKey({ type_designator: 'C172', manufacturer: 'CESSNA', model: '172S' });
    /** As the matcher writes it: the tuple's three attributes (what it reads back) and its key. */
    const contribution = (sn: string, counted: boolean): Item => ({
      ...contributionKey({ PK: 'FAA#LINKS', SK: String(link(sn).SK) }),
      ...(counted && { type_designator: 'C172', manufacturer: 'CESSNA', model: '172S', tuple_pk: tupleKey.PK, tuple_sk: tupleKey.SK }),
    });
    const problems = (rows: Item[]) => audit(rows, new Map()).drift.map((d) => [d.pk, d.sk, d.problem, d.repair]);
    const linkKey = (sn: string) => ({ PK: 'FAA#LINKS', SK: String(link(sn).SK) });

    it('a ledger that agrees with the links is consistent', () => {
      expect(audit([link('1'), contribution('1', true), contribution('9', false), tuple(1)], new Map()).drift).toEqual([]);
    });

    it('a contribution row for a deleted link, with the tuple count off and an orphan tuple', () => {
      expect(problems([contribution('1', true), tuple(1)])).toEqual([
        [tupleKey.PK, tupleKey.SK, 'tuple row with count 1 but no link carries it', []],
        ['FAA#LINKS', link('1').SK, `contribution row counts a deleted link toward ${tupleKey.PK} ${tupleKey.SK}`, [linkKey('1')]],
      ]);
    });

    it('a link counted without a contribution row (tombstone or none): the count disagrees with the ledger, and the link is reported', () => {
      for (const rows of [[link('1'), contribution('1', false), tuple(1)], [link('1'), tuple(1), contribution('2', false)]]) {
        expect(problems(rows)).toEqual([
          [tupleKey.PK, tupleKey.SK, 'count 1 but 0 contribution row(s) count links toward it (a recount deletes the row)', []],
          ['FAA#LINKS', link('1').SK, `link carries ${tupleKey.PK} ${tupleKey.SK} but no contribution row counts it`, [linkKey('1')]],
        ]);
      }
    });

    it('issue scenario 1: a deleted contribution row of a counted link (count 5, links 5, rows 4)', () => {
      const rows = [...['1', '2', '3', '4', '5'].map((sn) => link(sn)), ...['1', '2', '4', '5'].map((sn) => contribution(sn, true)), tuple(5)];
      expect(problems(rows)).toEqual([
        [tupleKey.PK, tupleKey.SK, 'count 5 but 4 contribution row(s) count links toward it (a recount sets count to 4)', []],
        ['FAA#LINKS', link('3').SK, `link carries ${tupleKey.PK} ${tupleKey.SK} but no contribution row counts it`, [linkKey('3')]],
      ]);
    });

    it('issue scenario 2: a hand-edited count (count 7, links 5, rows 5): no link is drifted, only the count', () => {
      const sns = ['1', '2', '3', '4', '5'];
      expect(problems([...sns.map((sn) => link(sn)), ...sns.map((sn) => contribution(sn, true)), tuple(7)])).toEqual([
        [tupleKey.PK, tupleKey.SK, 'count 7, links 5', []],
        [tupleKey.PK, tupleKey.SK, 'count 7 but 5 contribution row(s) count links toward it (a recount sets count to 5)', []],
      ]);
    });

    it('a contribution row with a partial tuple is reported and repaired by no key (the matcher refuses it too)', () => {
      const partial = { ...contributionKey(linkKey('1')), type_designator: 'C172' };
      expect(problems([link('1'), partial, tuple(1)])[1]).toEqual(['FAA#LINKS', link('1').SK, expect.stringMatching(/^contribution row has a partial tuple \(type_designator\)/), []]);
    });

    it('during a takeover, count minus legacy_count is what the ledger must match', () => {
      const rows = [link('1'), link('2'), contribution('1', true), { ...tuple(2), legacy_count: 1 }];
      expect(problems(rows)).toEqual([['FAA#LINKS', link('2').SK, `link carries ${tupleKey.PK} ${tupleKey.SK} but no contribution row counts it`, [linkKey('2')]]]);
    });
  });

  it('I3 normalises the matcher fields like the handler (whitespace, case)', () => {
    const rows = [link('1'), link('2', ' c172 '), tuple(2)];
    expect(audit(rows, new Map()).drift).toEqual([]);
  });
});

describe('sample dataset', () => {
  const { rows, changes } = generateDataset(SAMPLE_DATASET_OPTIONS);

  it('is deterministic for a seed and differs across seeds', () => {
    expect(generateDataset(SAMPLE_DATASET_OPTIONS)).toEqual({ rows, changes });
    expect(generateDataset({ ...SAMPLE_DATASET_OPTIONS, seed: 1 }).rows).not.toEqual(rows);
  });

  it('holds a few hundred rows of every kind with unique keys', () => {
    expect(rows.length).toBeGreaterThanOrEqual(250);
    const keys = new Set(rows.map((r) => `${r.PK}|${r.SK}`));
    expect(keys.size).toBe(rows.length);
    for (const prefix of ['AIRCRAFT#REGISTRY#FAA', 'AIRCRAFT#REGISTRY#FOREIGN', 'ICAO#AIRCRAFT', 'ICAO#MANUFACTURERS', 'ICAO#VARIANTS', 'FAA#LINKS', 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION', 'IMAGES#ORG#ACME#ENTITY#REGISTRATION', 'IMAGES#ORG#SYSTEM#ENTITY#ICAO']) {
      expect(rows.some((r) => String(r.PK).startsWith(prefix))).toBe(true);
    }
  });

  it('changes cover puts, updates, removals and deletes', () => {
    expect(new Set(changes.map((c) => c.kind))).toEqual(new Set(['put', 'update', 'delete']));
    expect(changes.some((c) => c.kind === 'update' && c.remove?.length)).toBe(true);
  });
});

describe('I3 with the matcher ledger', () => {
  const row = (sn: string) => ({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#1#SN#${sn}`, type_designator: 'C172', manufacturer: 'CESSNA', model: '172S' });
  const tupleKey = { PK: 'ICAO#MATCHER#C172', SK: 'MFR#CESSNA#MODEL#172S' };
  const ledger = (sn: string) => ({ PK: `MATCHER#CONTRIB#MFR_MDL_CODE#1#SN#${sn}`, SK: 'LINK#FAA#LINKS', type_designator: 'C172', manufacturer: 'CESSNA', model: '172S', tuple_pk: tupleKey.PK, tuple_sk: tupleKey.SK });
  it('reports a link no contribution row counts, even when the count happens to match', () => {
    const rows = [row('1'), row('2'), { ...tupleKey, count: 2 }, ledger('1')];
    const drift = audit(rows, new Map()).drift.filter((d) => d.invariant === 'I3');
    expect(drift.map((d) => d.problem)).toContain('link carries ICAO#MATCHER#C172 MFR#CESSNA#MODEL#172S but no contribution row counts it');
  });
});
