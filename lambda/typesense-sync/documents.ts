import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import type { Item } from '../shared/decode';

/**
 * Search documents: one field table per collection drives both the Typesense collection
 * schema and `toDocument`, so the two cannot drift apart. Only the attributes listed
 * here (docs/data-model.md) ever reach the index.
 */

export type FieldType = 'string' | 'int32';

/** A Typesense collection field, as `POST /collections` takes it. */
export interface CollectionField {
  readonly name: string;
  readonly type: FieldType;
  readonly optional?: boolean;
  readonly facet?: boolean;
  readonly sort?: boolean;
  readonly index?: boolean;
}

/** A Typesense collection schema, ready for `POST /collections`. */
export interface CollectionSchema {
  readonly name: string;
  readonly fields: readonly CollectionField[];
  readonly token_separators?: readonly string[];
}

/** Document field values: strings and 32-bit integers only. */
export type FieldValue = string | number;

/** A Typesense document: `id` plus the collection's fields. Plain JSON data. */
export interface SearchDocument {
  readonly id: string;
  readonly [field: string]: FieldValue;
}

/** How a document field is read from the row. */
export interface FieldSource {
  readonly name: string;
  readonly type: FieldType;
  /** Row attribute it is read from; defaults to `name`. */
  readonly attribute?: string;
  /** A document without it is not indexable (`toDocument` gives null). */
  readonly required?: boolean;
  readonly facet?: boolean;
  readonly sort?: boolean;
  /** false: stored and returned, never searched (Typesense wants such fields optional). */
  readonly index?: boolean;
}

/** A field computed from the row's keys (not an attribute), always present. */
export interface DerivedField {
  readonly name: string;
  readonly facet?: boolean;
}

export interface CollectionDefinition {
  readonly name: string;
  readonly derived: readonly DerivedField[];
  readonly fields: readonly FieldSource[];
  readonly token_separators?: readonly string[];
}

/** An attribute value that cannot go into a document as is. The caller names the record. */
export class AttributeError extends Error {
  constructor(
    readonly attribute: string,
    reason: string,
  ) {
    super(`attribute ${attribute}: ${reason}`);
    this.name = 'AttributeError';
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function readString(row: Item, attribute: string): string | undefined {
  const value = row[attribute];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AttributeError(attribute, `expected a string, got ${describeValue(value)}`);
  }
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/**
 * Integers only, within int32 (the schema type). A NumberValue (a number a JS double
 * cannot hold exactly) is refused, never rounded: the record fails naming it.
 */
function readInt32(row: Item, attribute: string): number | undefined {
  const value = row[attribute];
  if (value === undefined || value === null) return undefined;
  if (value instanceof NumberValue) {
    throw new AttributeError(
      attribute,
      `number ${value.toString()} is not exactly representable as a JS number; refusing to round it into an int32 field`,
    );
  }
  if (typeof value !== 'number') throw new AttributeError(attribute, `expected a number, got ${describeValue(value)}`);
  if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw new AttributeError(attribute, `number ${value} is not an int32 integer`);
  }
  return value;
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list or set';
  if (value instanceof Uint8Array) return 'binary';
  if (value instanceof NumberValue) return 'a number';
  return typeof value === 'object' ? 'a map' : typeof value;
}

/**
 * Builds a document: `id`, then the derived fields, then the row's fields in table order.
 * null when a required field is absent or blank. A present attribute of the wrong type
 * (or a number that does not fit) throws AttributeError, even when the field is optional.
 */
export function buildDocument(
  definition: CollectionDefinition,
  id: string,
  derived: Readonly<Record<string, string>>,
  row: Item,
): SearchDocument | null {
  const doc: Record<string, FieldValue> = { id };
  for (const field of definition.derived) {
    const value = derived[field.name];
    if (value === undefined) throw new Error(`derived field ${field.name} missing for ${definition.name}`);
    doc[field.name] = value;
  }
  let complete = true;
  for (const field of definition.fields) {
    const attribute = field.attribute ?? field.name;
    const value = field.type === 'string' ? readString(row, attribute) : readInt32(row, attribute);
    if (value === undefined) {
      if (field.required) complete = false; // keep reading: a malformed attribute still throws
      continue;
    }
    doc[field.name] = value;
  }
  return complete ? (doc as SearchDocument) : null;
}

/** The Typesense schema of a collection definition. */
export function schemaOf(definition: CollectionDefinition): CollectionSchema {
  const fields: CollectionField[] = [
    ...definition.derived.map((f) => ({ name: f.name, type: 'string' as const, ...(f.facet && { facet: true }) })),
    ...definition.fields.map((f) => ({
      name: f.name,
      type: f.type,
      ...((!f.required || f.index === false) && { optional: true }),
      ...(f.facet && { facet: true }),
      ...(f.sort && { sort: true }),
      ...(f.index === false && { index: false }),
    })),
  ];
  return {
    name: definition.name,
    fields,
    ...(definition.token_separators && { token_separators: definition.token_separators }),
  };
}

/** Deep equality of plain JSON data (documents hold strings, numbers, nested plain data). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bs = b as unknown[];
    return a.length === bs.length && a.every((v, i) => deepEqual(v, bs[i]));
  }
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  return ak.every(
    (k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

// ---- The four collections ---------------------------------------------------------

export const REGISTRY_COLLECTION: CollectionDefinition = {
  name: 'registry',
  derived: [{ name: 'registry_source', facet: true }],
  fields: [
    { name: 'registration', type: 'string', required: true },
    { name: 'manufacturer', type: 'string', required: true, facet: true },
    { name: 'model', type: 'string', required: true, facet: true },
    { name: 'type_designator', type: 'string', facet: true },
    { name: 'serial_number', type: 'string' },
    { name: 'year_manufactured', type: 'int32', facet: true, sort: true },
    { name: 'owner_name', type: 'string' },
    { name: 'city', type: 'string' },
    { name: 'state', type: 'string', facet: true },
    { name: 'country', type: 'string', facet: true },
    { name: 'status', type: 'string', facet: true },
    { name: 'mfr_mdl_code', type: 'string' },
    { name: 'mode_s_hex', type: 'string' },
  ],
  token_separators: ['-'],
};

export const AIRCRAFT_IMAGES_COLLECTION: CollectionDefinition = {
  name: 'aircraft_images',
  derived: [{ name: 'registration', facet: true }],
  fields: [
    { name: 'image_id', type: 'string', required: true },
    { name: 'url', type: 'string', required: true, index: false },
    { name: 'thumbnail_url', type: 'string', index: false },
    { name: 'caption', type: 'string' },
    { name: 'credit', type: 'string' },
    { name: 'width', type: 'int32' },
    { name: 'height', type: 'int32' },
    { name: 'created_at', type: 'string', sort: true },
  ],
};

export const ICAO_AIRCRAFT_COLLECTION: CollectionDefinition = {
  name: 'icao_aircraft',
  derived: [],
  fields: [
    { name: 'type_designator', type: 'string', required: true },
    { name: 'manufacturer', type: 'string', required: true, facet: true },
    { name: 'model', type: 'string', required: true },
    { name: 'description', type: 'string', facet: true },
    { name: 'engine_type', type: 'string', facet: true },
    { name: 'engine_count', type: 'int32', facet: true },
    { name: 'wake_category', attribute: 'wtc', type: 'string', facet: true },
  ],
};

export const ICAO_MANUFACTURERS_COLLECTION: CollectionDefinition = {
  name: 'icao_manufacturers',
  derived: [],
  fields: [
    { name: 'code', type: 'string', required: true },
    { name: 'name', type: 'string', required: true },
    { name: 'country', type: 'string', facet: true },
  ],
};

export const COLLECTION_DEFINITIONS: readonly CollectionDefinition[] = [
  REGISTRY_COLLECTION,
  AIRCRAFT_IMAGES_COLLECTION,
  ICAO_AIRCRAFT_COLLECTION,
  ICAO_MANUFACTURERS_COLLECTION,
];

/** One Typesense schema per collection: what an indexer (or a user) creates before indexing. */
export const COLLECTION_SCHEMAS: readonly CollectionSchema[] = COLLECTION_DEFINITIONS.map(schemaOf);
