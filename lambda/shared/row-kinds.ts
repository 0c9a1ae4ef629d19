/**
 * Source row kinds: every row the table's owners write (never the rows this worker derives:
 * default-image pointers, matcher tuples, contribution rows). The edge subsystems (audit
 * trail, domain events) are about changes to these rows; each kind names its entity, the
 * attributes that describe it, and the attributes that are personal and never leave in clear.
 */
import { equals, prefix, ruleMatches, type FilterPattern, type KeyRule, type RowKeys } from './key-rules';

export const ROW_KIND_NAMES = [
  'faa-registration',
  'foreign-registration',
  'aircraft-image',
  'icao-aircraft-type',
  'icao-manufacturer',
  'icao-variant',
  'faa-link',
] as const;
export type RowKindName = (typeof ROW_KIND_NAMES)[number];

export interface RowKind {
  readonly name: RowKindName;
  /** The entity a domain event names: `<entity>.created|updated|deleted`. */
  readonly entity: string;
  readonly keys: KeyRule;
  /** The attributes that describe the entity (a domain event's state is projected onto these). */
  readonly attributes: readonly string[];
  /** Personal attributes: encrypted (or hashed) in the audit trail, left out of events by default. */
  readonly sensitive: readonly string[];
}

const REGISTRY_ATTRIBUTES = [
  'registration', 'manufacturer', 'model', 'serial_number', 'type_designator', 'year_manufactured',
  'owner_name', 'street', 'street2', 'city', 'state', 'zip_code', 'country', 'status', 'mfr_mdl_code', 'mode_s_hex',
] as const;
/** The registered owner's name and address: personal data in both registries. */
const REGISTRY_SENSITIVE = ['owner_name', 'street', 'street2', 'city', 'state', 'zip_code', 'country'] as const;

export const ROW_KINDS: Readonly<Record<RowKindName, RowKind>> = {
  'faa-registration': {
    name: 'faa-registration',
    entity: 'registration',
    keys: { PK: equals('AIRCRAFT#REGISTRY#FAA'), SK: prefix('DETAIL#', '.+') },
    attributes: REGISTRY_ATTRIBUTES,
    sensitive: REGISTRY_SENSITIVE,
  },
  'foreign-registration': {
    name: 'foreign-registration',
    entity: 'registration',
    keys: { PK: equals('AIRCRAFT#REGISTRY#FOREIGN'), SK: prefix('DETAIL#', '.+') },
    attributes: REGISTRY_ATTRIBUTES,
    sensitive: REGISTRY_SENSITIVE,
  },
  'aircraft-image': {
    name: 'aircraft-image',
    entity: 'aircraft-image',
    keys: { PK: prefix('IMAGES#', 'ORG#[^#]+#ENTITY#[^#]+#ID#.+'), SK: prefix('IMG#', '.+') },
    attributes: ['org_id', 'entity_type', 'entity_id', 'image_id', 'url', 'thumbnail_url', 'caption', 'credit', 'width', 'height', 'created_at'],
    sensitive: [],
  },
  'icao-aircraft-type': {
    name: 'icao-aircraft-type',
    entity: 'icao-aircraft-type',
    keys: { PK: equals('ICAO#AIRCRAFT'), SK: prefix('TYPE#', '.+') },
    attributes: ['type_designator', 'manufacturer', 'model', 'description', 'engine_type', 'engine_count', 'wtc'],
    sensitive: [],
  },
  'icao-manufacturer': {
    name: 'icao-manufacturer',
    entity: 'icao-manufacturer',
    keys: { PK: equals('ICAO#MANUFACTURERS'), SK: prefix('MFR#', '.+') },
    attributes: ['code', 'name', 'country'],
    sensitive: [],
  },
  'icao-variant': {
    name: 'icao-variant',
    entity: 'icao-variant',
    keys: { PK: equals('ICAO#VARIANTS'), SK: prefix('', '.+') },
    attributes: ['type_designator', 'variant', 'manufacturer', 'model', 'name'],
    sensitive: [],
  },
  'faa-link': {
    name: 'faa-link',
    entity: 'faa-link',
    keys: { PK: equals('FAA#LINKS'), SK: prefix('MFR_MDL_CODE#', '[^#]+#SN#.+') },
    attributes: ['mfr_mdl_code', 'serial_number', 'type_designator', 'manufacturer', 'model'],
    sensitive: [],
  },
};

/** The kind of a row, by its keys (exact rules); undefined for derived and unknown rows. */
export function rowKindOf(keys: RowKeys, kinds: readonly RowKindName[] = ROW_KIND_NAMES): RowKind | undefined {
  for (const name of kinds) if (ruleMatches(ROW_KINDS[name].keys, keys)) return ROW_KINDS[name];
  return undefined;
}

/** Parses a comma-separated list of kind names (an option narrowing what an edge subsystem receives). */
export function parseRowKinds(text: string | undefined): RowKindName[] {
  if (text === undefined || text.trim() === '') return [...ROW_KIND_NAMES];
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(ROW_KIND_NAMES as readonly string[]).includes(n)) throw new Error(`unknown row kind ${JSON.stringify(n)} (known: ${ROW_KIND_NAMES.join(', ')})`);
  }
  return [...new Set(names)] as RowKindName[];
}

/** Lambda accepts at most this many filters per event source mapping (by default). */
export const MAX_FILTERS_PER_MAPPING = 5;

type Value = string | { readonly prefix: string };
const value = (part: KeyRule['PK']): Value => (part.kind === 'equals' ? part.value : { prefix: part.value });
interface Group {
  readonly pk: Value[];
  readonly sk?: Value;
}

/**
 * Coarse Lambda filters for a set of kinds, derived from their key rules, at most
 * MAX_FILTERS_PER_MAPPING. Rules with the same SK part share one filter (PK values ORed); while
 * there are too many, filters whose PKs are all exact values merge into one filter on PK alone
 * (any SK of those partitions). Coarse is safe: the handler applies the exact rules, and no
 * derived row lives in a source row's exact partition (pointers share the image PK but are
 * excluded by the SK prefix `IMG#`, which stays in the images filter).
 */
export function rowKindFilters(kinds: readonly RowKindName[] = ROW_KIND_NAMES): FilterPattern[] {
  const groups = new Map<string, Group>();
  for (const name of kinds) {
    const { PK, SK } = ROW_KINDS[name].keys;
    const sk = value(SK);
    const id = JSON.stringify(sk);
    const group = groups.get(id) ?? { pk: [], sk };
    group.pk.push(value(PK));
    groups.set(id, group);
  }
  let list = [...groups.values()];
  while (list.length > MAX_FILTERS_PER_MAPPING) {
    const [a, b] = closestExactPair(list);
    list = list.filter((g) => g !== a && g !== b);
    list.push({ pk: [...a.pk, ...b.pk] });
  }
  return list
    .map((g) => {
      const keys: Record<string, FilterPattern> = { PK: { S: [...new Map(g.pk.map((v) => [JSON.stringify(v), v])).values()] } };
      if (g.sk !== undefined && !(typeof g.sk === 'object' && g.sk.prefix === '')) keys.SK = { S: [g.sk] };
      return { dynamodb: { Keys: keys } };
    })
    .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
}

/** The two groups with exact PKs whose PKs share the longest prefix (ICAO#… with ICAO#…). */
function closestExactPair(list: readonly Group[]): [Group, Group] {
  const exact = list.filter((g) => g.sk !== undefined && g.pk.every((v) => typeof v === 'string'));
  let best: [Group, Group] | undefined;
  let bestLength = -1;
  for (let i = 0; i < exact.length; i++) {
    for (let j = i + 1; j < exact.length; j++) {
      const length = commonPrefix(String(exact[i]!.pk[0]), String(exact[j]!.pk[0]));
      if (length > bestLength) [best, bestLength] = [[exact[i]!, exact[j]!], length];
    }
  }
  if (!best) throw new Error(`these row kinds need more than ${MAX_FILTERS_PER_MAPPING} filters`);
  return best;
}

const commonPrefix = (a: string, b: string): number => {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
};
