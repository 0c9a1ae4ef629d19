/**
 * The local stand-in for Typesense: an in-memory document map per collection, fed by the
 * Typesense FIFO queue's messages (DESIGN §3, version 1) in FIFO order. `npm start` dumps it
 * to show what Typesense would hold; the consistency audit (I1) compares it with the table.
 */
import type { LocalFifoQueue, ReceivedMessage } from './fifo-queue';
import type { SearchDocument } from '../lambda/typesense-sync/documents';
import type { QueueMessage, QueueMessageSource } from '../lambda/typesense-sync/messages';

/** The consumer reads exactly what typesense-sync produces (DESIGN §3, version 1). */
export type { QueueMessage, QueueMessageSource, SearchDocument };

/** A message the index cannot apply: it names the message, so the producer is easy to find. */
export class SearchMessageError extends Error {
  constructor(message: string, readonly body: unknown) {
    super(message);
    this.name = 'SearchMessageError';
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const short = (body: unknown) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

/**
 * Parses and checks a queue message body. An unknown version, action or a missing field is a
 * SearchMessageError: the consumer must stop, not guess (a newer producer may mean more).
 */
export function parseQueueMessage(body: string | unknown): QueueMessage {
  let value: unknown = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch (error) {
      throw new SearchMessageError(`queue message is not JSON (${(error as Error).message}): ${short(body)}`, body);
    }
  }
  const fail = (why: string): never => {
    throw new SearchMessageError(`invalid queue message: ${why}: ${short(value)}`, value);
  };
  if (!isPlainObject(value)) return fail('not an object');
  if (value.v !== 1) return fail(`unsupported version ${JSON.stringify(value.v)} (this consumer reads v 1)`);
  const { action, collection, id, document, source } = value;
  if (action !== 'upsert' && action !== 'delete') return fail(`unknown action ${JSON.stringify(action)}`);
  if (typeof collection !== 'string' || collection === '') return fail('collection must be a non-empty string');
  if (typeof id !== 'string' || id === '') return fail('id must be a non-empty string');
  if (!isPlainObject(source) || typeof source.pk !== 'string' || typeof source.sk !== 'string' || typeof source.eventID !== 'string' || typeof source.sequenceNumber !== 'string') {
    return fail('source must name the record (pk, sk, eventID, sequenceNumber)');
  }
  if (action === 'delete') {
    // A document on a delete (allowed by the format, unused by the producer) is ignored.
    return { v: 1, action, collection, id, source: source as unknown as QueueMessageSource };
  }
  if (!isPlainObject(document)) return fail('an upsert needs a document object');
  if (document.id !== id) return fail(`document.id ${JSON.stringify(document.id)} differs from id ${JSON.stringify(id)}`);
  return { v: 1, action, collection, id, document: document as unknown as SearchDocument, source: source as unknown as QueueMessageSource };
}

export interface IndexedDocument {
  readonly document: SearchDocument;
  /** The record whose message wrote it last. */
  readonly source: QueueMessageSource;
}

export interface SearchIndexStats {
  upserts: number;
  deletes: number;
  /** Deletes of an id not in the index (Typesense answers 404; a consumer treats it as done). */
  deletesOfMissing: number;
}

export interface LocalSearchIndexOptions {
  /** When given, a message for any other collection is rejected (Typesense would answer 404). */
  readonly collections?: readonly string[];
}

export class LocalSearchIndex {
  private readonly data = new Map<string, Map<string, IndexedDocument>>();
  private readonly perCollection = new Map<string, SearchIndexStats>();

  constructor(private readonly options: LocalSearchIndexOptions = {}) {
    for (const c of options.collections ?? []) this.data.set(c, new Map());
  }

  /** Applies one message body; throws SearchMessageError on anything it cannot apply. */
  apply(body: string | QueueMessage): QueueMessage {
    const message = parseQueueMessage(body);
    if (this.options.collections && !this.options.collections.includes(message.collection)) {
      throw new SearchMessageError(`unknown collection ${JSON.stringify(message.collection)}`, message);
    }
    const docs = this.collection(message.collection);
    const stats = this.statsOf(message.collection);
    if (message.action === 'upsert') {
      // Typesense's upsert replaces the whole document.
      docs.set(message.id, { document: structuredClone(message.document), source: message.source });
      stats.upserts += 1;
    } else {
      if (!docs.delete(message.id)) stats.deletesOfMissing += 1;
      stats.deletes += 1;
    }
    return message;
  }

  get(collection: string, id: string): SearchDocument | undefined {
    return this.data.get(collection)?.get(id)?.document;
  }

  entry(collection: string, id: string): IndexedDocument | undefined {
    return this.data.get(collection)?.get(id);
  }

  collections(): string[] {
    return [...this.data.keys()].sort();
  }

  /** The documents of a collection by id. */
  documents(collection: string): Map<string, SearchDocument> {
    return new Map([...(this.data.get(collection) ?? new Map<string, IndexedDocument>())].map(([id, e]) => [id, e.document]));
  }

  size(collection?: string): number {
    if (collection !== undefined) return this.data.get(collection)?.size ?? 0;
    let n = 0;
    for (const docs of this.data.values()) n += docs.size;
    return n;
  }

  /** Everything, as plain JSON-able data: collection -> documents sorted by id. */
  dump(): Record<string, { id: string; document: SearchDocument }[]> {
    return Object.fromEntries(
      this.collections().map((c) => [
        c,
        [...this.data.get(c)!.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, e]) => ({ id, document: e.document })),
      ]),
    );
  }

  stats(): Record<string, SearchIndexStats> {
    return Object.fromEntries([...this.perCollection.entries()].map(([c, s]) => [c, { ...s }]));
  }

  private collection(name: string): Map<string, IndexedDocument> {
    let docs = this.data.get(name);
    if (!docs) {
      docs = new Map();
      this.data.set(name, docs);
    }
    return docs;
  }

  private statsOf(name: string): SearchIndexStats {
    let s = this.perCollection.get(name);
    if (!s) {
      s = { upserts: 0, deletes: 0, deletesOfMissing: 0 };
      this.perCollection.set(name, s);
    }
    return s;
  }
}

/**
 * The local queue consumer: applies every receivable message to the index in FIFO order and
 * deletes it. A message the index rejects stays at the head of its group and the error is
 * rethrown (loud), like a poison message blocking its group in SQS.
 */
export async function consumeIntoIndex(queue: LocalFifoQueue, index: LocalSearchIndex): Promise<number> {
  return queue.consume((message: ReceivedMessage) => {
    try {
      index.apply(message.Body);
    } catch (error) {
      if (error instanceof SearchMessageError) {
        error.message = `${error.message} (SQS message ${message.MessageId}, group ${message.Attributes.MessageGroupId})`;
      }
      throw error;
    }
  });
}
