/**
 * The storage half of the local Typesense stand-in (local/typesense-server.ts): collections
 * and documents in memory, with Typesense's validation for the field types this project
 * uses (string, int32, and their optional forms). No Typesense server can run on these
 * machines, so tests and `npm start` use this; it is not Typesense.
 *
 * Validation follows Typesense's `dirty_values`: with `reject` a value of the wrong type
 * rejects the document; with `coerce_or_reject` a number or boolean in a string field is
 * coerced to its text and an integer-looking string in an int32 field to the integer, and
 * anything else rejects it. Typesense's default is `reject` unless the schema has a wildcard
 * or dynamic field (then `coerce_or_reject`); defaultDirtyValues says which. Fields not in
 * the schema are stored and returned as given (Typesense does the same).
 */

export type LocalFieldType = 'string' | 'int32' | 'int64' | 'float' | 'bool' | 'string[]' | 'auto' | 'string*';

export interface LocalField {
  readonly name: string;
  readonly type: string;
  readonly optional?: boolean;
  readonly facet?: boolean;
  readonly sort?: boolean;
  readonly index?: boolean;
}

export interface LocalCollection {
  readonly name: string;
  readonly fields: readonly LocalField[];
  readonly token_separators?: readonly string[];
  readonly created_at: number;
  readonly documents: Map<string, Record<string, unknown>>;
}

export type DirtyValues = 'coerce_or_reject' | 'reject';

/**
 * The `dirty_values` query parameter: one the stand-in implements, 'unsupported' for the
 * Typesense values it does not (drop, coerce_or_drop), undefined when absent or unknown
 * (Typesense then uses its default, as here). Typesense reads it case-insensitively.
 */
export function parseDirtyValues(param: string | null): DirtyValues | 'unsupported' | undefined {
  const value = param?.toLowerCase();
  if (value === 'reject' || value === 'coerce_or_reject') return value;
  if (value === 'drop' || value === 'coerce_or_drop') return 'unsupported';
  return undefined;
}

/** Typesense's default: coerce_or_reject when the schema has a wildcard or dynamic field, else reject. */
export function defaultDirtyValues(collection: Pick<LocalCollection, 'fields'>): DirtyValues {
  const dynamic = collection.fields.some((f) => f.name === '.*' || f.name.includes('.*') || f.type === 'auto' || f.type === 'string*');
  return dynamic ? 'coerce_or_reject' : 'reject';
}

/** A document the collection refuses; the message is Typesense's wording. */
export class DocumentRejected extends Error {}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const SUPPORTED_TYPES = new Set(['string', 'int32', 'int64', 'float', 'bool', 'string[]', 'int32[]', 'auto', 'string*']);

/** Checks a `POST /collections` body; returns an error message (Typesense's wording) or the collection. */
export function parseCollectionSchema(body: unknown): LocalCollection | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'Bad JSON.';
  const { name, fields, token_separators } = body as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') return 'Parameter `name` is required.';
  if (!Array.isArray(fields)) return 'Parameter `fields` is required.';
  const seen = new Set<string>();
  for (const field of fields as unknown[]) {
    if (field === null || typeof field !== 'object') return 'Wrong format for `fields`. It should be an array of objects containing `name`, `type`, `optional` and `facet` properties.';
    const f = field as Record<string, unknown>;
    if (typeof f.name !== 'string' || f.name === '') return 'Wrong format for `fields`. It should be an array of objects containing `name`, `type`, `optional` and `facet` properties.';
    if (typeof f.type !== 'string' || !SUPPORTED_TYPES.has(f.type)) return `Field \`${f.name}\` has an invalid data type \`${String(f.type)}\`, see docs for supported data types.`;
    if (f.name === 'id') return 'Field `id` cannot be declared in the schema.';
    if (f.index === false && f.optional !== true) return `Field \`${f.name}\` must be an optional field when \`index: false\` is set.`;
    if (seen.has(f.name)) return `There are duplicate field names in the schema.`;
    seen.add(f.name);
  }
  return {
    name,
    fields: fields as LocalField[],
    ...(Array.isArray(token_separators) && { token_separators: token_separators as string[] }),
    created_at: Math.floor(Date.now() / 1000),
    documents: new Map(),
  };
}

/** The collection as `GET /collections/:name` answers it. */
export function describeCollection(c: LocalCollection): Record<string, unknown> {
  return {
    name: c.name,
    fields: c.fields.map((f) => ({ facet: false, index: true, optional: false, sort: f.type === 'int32', ...f })),
    ...(c.token_separators && { token_separators: c.token_separators }),
    created_at: c.created_at,
    num_documents: c.documents.size,
    default_sorting_field: '',
    enable_nested_fields: false,
    symbols_to_index: [],
  };
}

function coerce(field: LocalField, value: unknown, dirty: DirtyValues): unknown {
  const base = field.type.replace(/\*$/, '');
  if (base === 'string') {
    if (typeof value === 'string') return value;
    if (dirty === 'coerce_or_reject' && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
    throw new DocumentRejected(`Field \`${field.name}\` must be a string.`);
  }
  if (base === 'int32' || base === 'int64') {
    let n = value;
    if (dirty === 'coerce_or_reject' && typeof value === 'string' && /^-?\d+$/.test(value.trim())) n = Number(value.trim());
    if (typeof n !== 'number' || !Number.isInteger(n) || (base === 'int32' && (n < INT32_MIN || n > INT32_MAX))) {
      throw new DocumentRejected(`Field \`${field.name}\` must be an ${base}.`);
    }
    return n;
  }
  if (base === 'float') {
    if (typeof value === 'number') return value;
    throw new DocumentRejected(`Field \`${field.name}\` must be a float.`);
  }
  if (base === 'bool') {
    if (typeof value === 'boolean') return value;
    throw new DocumentRejected(`Field \`${field.name}\` must be a bool.`);
  }
  if (base.endsWith('[]')) {
    if (!Array.isArray(value)) throw new DocumentRejected(`Field \`${field.name}\` must be an array.`);
    return value.map((v) => coerce({ ...field, type: base.slice(0, -2) }, v, dirty));
  }
  return value; // auto
}

/**
 * Validates and normalises a document for a write (Typesense's `validate_index_in_memory`):
 * an `id` string, every non-optional declared field present, every present declared field
 * of its type. Throws DocumentRejected naming the field.
 */
export function validateDocument(collection: LocalCollection, document: unknown, dirty: DirtyValues = defaultDirtyValues(collection)): Record<string, unknown> {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) throw new DocumentRejected('Bad JSON: not a properly formed document.');
  const doc = { ...(document as Record<string, unknown>) };
  if (doc.id === undefined) throw new DocumentRejected('Document has no `id` field (this stand-in does not generate ids).');
  if (typeof doc.id !== 'string') throw new DocumentRejected("Document's `id` field should be a string.");
  if (doc.id === '') throw new DocumentRejected("The `id` should not be empty.");
  for (const field of collection.fields) {
    if (field.type === 'auto' || field.name.includes('.*')) continue;
    const value = doc[field.name];
    if (value === undefined || value === null) {
      if (!field.optional) throw new DocumentRejected(`Field \`${field.name}\` has been declared in the schema, but is not found in the document.`);
      delete doc[field.name];
      continue;
    }
    doc[field.name] = coerce(field, value, dirty);
  }
  return doc;
}
