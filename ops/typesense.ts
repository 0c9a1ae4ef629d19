/**
 * The search index as `ops audit` reads it (official client): each collection's export read as
 * a stream, one JSONL line at a time, and documents fetched by id 100 at a time (an export
 * filtered by id). Nothing holds a whole collection; `exportIndex` (the local pipeline's small snapshots) is built on the
 * same stream.
 */
import { createInterface } from 'node:readline';
import { Client, Errors } from 'typesense';
import { COLLECTION_SCHEMAS } from '../lambda/typesense-sync/specs';
import { UsageError } from './common';
import type { IndexSnapshot } from './invariants';

/** A search document: at least its id. */
export type SearchDocument = { readonly id: string } & Record<string, unknown>;

/** What the audit reads from the index, whatever holds it (a Typesense server, a snapshot in memory). */
export interface SearchIndexReader {
  readonly collections: readonly string[];
  /** Every document of the collection, one at a time (a collection that does not exist has none). */
  documents(collection: string): AsyncIterable<SearchDocument>;
  /** The documents with these ids; an id missing from the map is not in the index. */
  get(collection: string, ids: readonly string[]): Promise<Map<string, unknown>>;
}

const ALL_COLLECTIONS = () => COLLECTION_SCHEMAS.map((s) => s.name);

/** The API key comes from the environment variable named on the command line, never from the command line itself. */
export function apiKeyFromEnv(variable: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (!variable) throw new UsageError('--typesense-url needs --typesense-api-key-env VAR (the name of an environment variable holding the key)');
  const key = env[variable];
  if (!key) throw new UsageError(`--typesense-api-key-env: environment variable ${variable} is not set or empty`);
  return key;
}

const notFound = (error: unknown) => error instanceof Errors.ObjectNotFound || (error as { httpStatus?: number })?.httpStatus === 404;

/** Every document of one collection (or those `filter` selects) through its export, parsed line by line as the response arrives. */
export async function* exportDocuments(client: Client, collection: string, filter?: string): AsyncGenerator<SearchDocument> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await client.collections(collection).documents().exportStream(filter === undefined ? {} : { filter_by: filter })) as unknown as NodeJS.ReadableStream;
  } catch (error) {
    // A collection that does not exist holds no documents: every projected one is then missing.
    if (notFound(error)) return;
    throw error;
  }
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    yield JSON.parse(line) as SearchDocument;
  }
}

/** Ids a filter can name unquoted (every id the specs make: encodeIdPart's characters and `.`). */
const PLAIN_ID = /^[A-Za-z0-9._-]+$/;
/** Ids per lookup: about 3 KB of URL, below common proxies' 8 KB limit. */
const IDS_PER_LOOKUP = 100;

/** A reader over a Typesense server: exports streamed; lookups by id as one filtered export per 100 ids. */
export function typesenseReader(client: Client, collections: readonly string[] = ALL_COLLECTIONS()): SearchIndexReader {
  const retrieve = async (collection: string, id: string) => {
    try {
      return await client.collections(collection).documents(id).retrieve();
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  };
  return {
    collections,
    documents: (collection) => exportDocuments(client, collection),
    get: async (collection, ids) => {
      const found = new Map<string, unknown>();
      const plain = ids.filter((id) => PLAIN_ID.test(id));
      for (let i = 0; i < plain.length; i += IDS_PER_LOOKUP) {
        const filter = `id:[${plain.slice(i, i + IDS_PER_LOOKUP).join(',')}]`;
        for await (const doc of exportDocuments(client, collection, filter)) found.set(doc.id, doc);
      }
      for (const id of ids.filter((id) => !PLAIN_ID.test(id))) {
        const doc = await retrieve(collection, id);
        if (doc !== undefined) found.set(id, doc);
      }
      return found;
    },
  };
}

export async function readTypesenseIndex(url: string, apiKey: string, collections: readonly string[] = ALL_COLLECTIONS()): Promise<SearchIndexReader> {
  const client = new Client({ nodes: [{ url }], apiKey, connectionTimeoutSeconds: 10, numRetries: 3, logLevel: 'silent' });
  return typesenseReader(client, collections);
}

/** A reader over a snapshot already in memory (the local pipeline's). */
export function snapshotReader(index: IndexSnapshot): SearchIndexReader {
  return {
    collections: [...index.keys()],
    documents: async function* (collection) {
      for (const doc of index.get(collection)?.values() ?? []) yield doc as SearchDocument;
    },
    get: async (collection, ids) => {
      const docs = index.get(collection);
      return new Map(ids.flatMap((id) => (docs?.has(id) ? [[id, docs.get(id)] as const] : [])));
    },
  };
}

/** Every document of each collection through `client`, in memory: for the local pipeline's small indexes; a missing collection is empty. */
export async function exportIndex(client: Client, collections: readonly string[] = ALL_COLLECTIONS()): Promise<Map<string, Map<string, unknown>>> {
  const index = new Map<string, Map<string, unknown>>();
  for (const name of collections) {
    const documents = new Map<string, unknown>();
    for await (const doc of exportDocuments(client, name)) documents.set(doc.id, doc);
    index.set(name, documents);
  }
  return index;
}
