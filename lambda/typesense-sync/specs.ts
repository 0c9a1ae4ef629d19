import type { Item } from '../shared/decode';
import { equals, keyPartRegex, prefix, ruleMatches, type KeyPart, type KeyRule, type RowKeys } from '../shared/key-rules';
import {
  AIRCRAFT_IMAGES_COLLECTION,
  buildDocument,
  ICAO_AIRCRAFT_COLLECTION,
  ICAO_MANUFACTURERS_COLLECTION,
  COLLECTION_SCHEMAS,
  REGISTRY_COLLECTION,
  type CollectionDefinition,
  type CollectionSchema,
  type SearchDocument,
} from './documents';
import { documentIdFrom } from './ids';

/**
 * Typesense specs (docs/data-model.md, search documents). The key rule is the one source for the mapping's event
 * filter and for the handler's exact match. A spec without a collection is known but
 * never indexed (and never delivered: it yields no filter).
 */
export interface SpecKeys {
  readonly name: string;
  readonly keys: KeyRule;
  readonly collection: string | null;
}

export const SPEC_KEYS = [
  {
    name: 'faa-registry',
    keys: { PK: equals('AIRCRAFT#REGISTRY#FAA'), SK: prefix('DETAIL#', '[A-Z0-9][A-Z0-9-]*') },
    collection: 'registry',
  },
  {
    name: 'foreign-registry',
    keys: { PK: equals('AIRCRAFT#REGISTRY#FOREIGN'), SK: prefix('DETAIL#', '[A-Z0-9][A-Z0-9-]*') },
    collection: 'registry',
  },
  {
    name: 'registration-image',
    keys: { PK: prefix('IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#', '[^#]+'), SK: prefix('IMG#', '.+') },
    collection: 'aircraft_images',
  },
  {
    name: 'icao-aircraft-type',
    keys: { PK: equals('ICAO#AIRCRAFT'), SK: prefix('TYPE#', '[A-Z0-9]{2,4}') },
    collection: 'icao_aircraft',
  },
  {
    name: 'icao-manufacturer',
    keys: { PK: equals('ICAO#MANUFACTURERS'), SK: prefix('MFR#', '[^#]+') },
    collection: 'icao_manufacturers',
  },
  {
    name: 'icao-variant',
    keys: { PK: equals('ICAO#VARIANTS'), SK: prefix('', '.*') },
    collection: null,
  },
] as const satisfies readonly SpecKeys[];

/** Key rules of the specs that feed a collection: what typesense-sync's mapping delivers. */
export const TYPESENSE_KEY_RULES: readonly KeyRule[] = SPEC_KEYS.filter((s) => s.collection !== null).map((s) => s.keys);

type SpecName = (typeof SPEC_KEYS)[number]['name'];

// ---- Full specs: keys + collection + schema + document id + toDocument ------------

interface SpecBase {
  readonly name: SpecName;
  readonly keys: KeyRule;
  readonly pk: RegExp;
  readonly sk: RegExp;
}

/** A spec that feeds a Typesense collection. */
export interface IndexedSpec extends SpecBase {
  readonly collection: string;
  readonly schema: CollectionSchema;
  /** Deterministic, URL-safe, unique within the collection; from the keys alone (a REMOVE has them). */
  documentId(keys: RowKeys): string;
  /**
   * The row's search document, or null when it is not indexable (a required field absent
   * or blank). Throws AttributeError for a malformed attribute. `row` holds PK and SK.
   */
  toDocument(row: Item): SearchDocument | null;
}

/** A spec that is known but never indexed (ICAO#VARIANTS: autosuggest only). */
export interface UnindexedSpec extends SpecBase {
  readonly collection: null;
}

export type TypesenseSpec = IndexedSpec | UnindexedSpec;

/** The part of a key after a prefix rule's literal prefix. */
const tail = (part: KeyPart, value: string): string => (part.kind === 'prefix' ? value.slice(part.value.length) : value);

function keysOf(row: Item): RowKeys {
  const { PK, SK } = row;
  if (typeof PK !== 'string' || typeof SK !== 'string') throw new Error('row has no string PK/SK');
  return { PK, SK };
}

interface IndexedSpecParts {
  readonly collection: CollectionDefinition;
  readonly documentId: (keys: RowKeys, rule: KeyRule) => string;
  readonly derived?: (keys: RowKeys, rule: KeyRule) => Record<string, string>;
}

const INDEXED: Readonly<Record<Exclude<SpecName, 'icao-variant'>, IndexedSpecParts>> = {
  // FAA and FOREIGN share the registry collection: the source prefixes the id.
  'faa-registry': {
    collection: REGISTRY_COLLECTION,
    documentId: (keys, rule) => documentIdFrom('faa', tail(rule.SK, keys.SK)),
    derived: () => ({ registry_source: 'FAA' }),
  },
  'foreign-registry': {
    collection: REGISTRY_COLLECTION,
    documentId: (keys, rule) => documentIdFrom('foreign', tail(rule.SK, keys.SK)),
    derived: () => ({ registry_source: 'FOREIGN' }),
  },
  'registration-image': {
    collection: AIRCRAFT_IMAGES_COLLECTION,
    documentId: (keys, rule) => documentIdFrom(tail(rule.PK, keys.PK), tail(rule.SK, keys.SK)),
    derived: (keys, rule) => ({ registration: tail(rule.PK, keys.PK) }),
  },
  'icao-aircraft-type': {
    collection: ICAO_AIRCRAFT_COLLECTION,
    documentId: (keys, rule) => documentIdFrom(tail(rule.SK, keys.SK)),
  },
  'icao-manufacturer': {
    collection: ICAO_MANUFACTURERS_COLLECTION,
    documentId: (keys, rule) => documentIdFrom(tail(rule.SK, keys.SK)),
  },
};

const schemaFor = (definition: CollectionDefinition): CollectionSchema => {
  const schema = COLLECTION_SCHEMAS.find((s) => s.name === definition.name);
  if (!schema) throw new Error(`no schema for collection ${definition.name}`);
  return schema;
};

function toSpec(entry: (typeof SPEC_KEYS)[number]): TypesenseSpec {
  const base = { name: entry.name, keys: entry.keys, pk: keyPartRegex(entry.keys.PK), sk: keyPartRegex(entry.keys.SK) };
  if (entry.name === 'icao-variant') return { ...base, collection: null };
  const parts = INDEXED[entry.name];
  if (parts.collection.name !== entry.collection) throw new Error(`spec ${entry.name}: collection mismatch`);
  const documentId = (keys: RowKeys) => parts.documentId(keys, entry.keys);
  return {
    ...base,
    collection: entry.collection,
    schema: schemaFor(parts.collection),
    documentId,
    toDocument: (row) => {
      const keys = keysOf(row);
      return buildDocument(parts.collection, documentId(keys), parts.derived?.(keys, entry.keys) ?? {}, row);
    },
  };
}

export { COLLECTION_SCHEMAS };

/** Every spec, in the order of the search documents in docs/data-model.md. */
export const TYPESENSE_SPECS: readonly TypesenseSpec[] = SPEC_KEYS.map(toSpec);

/** The spec whose PK and SK regexes both match, if any (the specs' PKs are disjoint). */
export function matchSpec(keys: RowKeys): TypesenseSpec | undefined {
  return TYPESENSE_SPECS.find((spec) => ruleMatches(spec.keys, keys));
}

/** The indexed spec for these keys: what typesense-sync owns. */
export function matchIndexedSpec(keys: RowKeys): IndexedSpec | undefined {
  const spec = matchSpec(keys);
  return spec && spec.collection !== null ? spec : undefined;
}
