import { equals, prefix, type KeyRule } from '../shared/key-rules';

/**
 * Typesense specs (DESIGN §3). The key rule is the one source for the mapping's event
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
