import { Client, Errors } from 'typesense';
import type { CollectionSchema, SearchDocument } from '../typesense-sync/documents';
import { DeadlineReached, type IndexerRetryPolicy, type InvocationDeadline } from './retry';
import { backoffDelay } from '../shared/backoff';

/** One import line's outcome, in the order of the documents sent. */
export type ImportResult = { readonly success: true } | { readonly success: false; readonly error: string };

/** The indexer's view of Typesense: three calls. */
export interface SearchPort {
  /** `POST /collections/:c/documents/import?action=upsert`; one result per document, in order. */
  importUpsert(collection: string, documents: readonly SearchDocument[]): Promise<ImportResult[]>;
  /** `DELETE /collections/:c/documents/:id`; a missing document (404) is 'missing', i.e. done. */
  deleteDocument(collection: string, id: string): Promise<'deleted' | 'missing'>;
  /** `POST /collections`; an existing collection (409) is fine. */
  createCollection(schema: CollectionSchema): Promise<void>;
}

/** The collection does not exist (404 on import, or on a delete whose collection is gone). */
export class CollectionMissingError extends Error {
  constructor(readonly collection: string) {
    super(`Typesense collection ${collection} does not exist`);
    this.name = 'CollectionMissingError';
  }
}

/** Connection and timeout settings of the Typesense client. */
export const TYPESENSE_CONNECTION_TIMEOUT_SECONDS = 5;
/** Imports are not bounded by the client (it skips its timeout for them); we bound every call. */
export const TYPESENSE_CALL_TIMEOUT_MS = 10_000;
/** Kept in hand at the function's deadline: the response, the partial batch response, logs. */
export const INDEXER_DEADLINE_MARGIN_MS = 2_000;

/**
 * The official client with its own retries off (`numRetries: 0`): it retries 5xx and
 * connection errors with a fixed sleep but answers 429 at once, so our wrapper retries all
 * three with backoff instead, one policy for every call.
 */
export function typesenseClient(nodes: readonly string[], apiKey: string): Client {
  return new Client({
    nodes: nodes.map((url) => ({ url })),
    apiKey,
    numRetries: 0,
    connectionTimeoutSeconds: TYPESENSE_CONNECTION_TIMEOUT_SECONDS,
    retryIntervalSeconds: 0.1,
    logLevel: 'silent',
  });
}

const CONNECTION_ERROR = /ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ETIMEDOUT|EAI_AGAIN|socket hang up|timeout/i;

/** 429, 5xx, connection errors and our own call timeout are worth another try; 4xx are not. */
export function isRetryableSearchError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const e = error as { httpStatus?: number; code?: string; message?: string; name?: string };
  if (typeof e.httpStatus === 'number') return e.httpStatus === 429 || e.httpStatus >= 500;
  return e.name === 'SearchCallTimeout' || CONNECTION_ERROR.test(`${e.code ?? ''} ${e.message ?? ''}`);
}

class SearchCallTimeout extends Error {
  override readonly name = 'SearchCallTimeout';
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SearchCallTimeout(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface SearchRetryLog {
  warn(message: string, extra: Record<string, unknown>): void;
}

/**
 * Runs `call` with backoff on retryable errors; the last error is rethrown. With a deadline,
 * each attempt's timeout is cut to the time left, and no attempt or sleep crosses it.
 */
export async function withSearchRetry<T>(
  what: string,
  call: () => Promise<T>,
  policy: IndexerRetryPolicy,
  log?: SearchRetryLog,
  timeoutMs = TYPESENSE_CALL_TIMEOUT_MS,
  deadline?: InvocationDeadline,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const usable = deadline?.usableMs() ?? Number.POSITIVE_INFINITY;
    if (usable <= 0) throw new DeadlineReached(`${what}: not started, the function's deadline is near (margin ${deadline?.marginMs} ms)`);
    try {
      return await withTimeout(call(), Math.min(timeoutMs, usable), what);
    } catch (error) {
      if (!isRetryableSearchError(error) || attempt >= policy.maxAttempts) throw error;
      const delay = backoffDelay(attempt, policy, policy.random);
      if ((deadline?.usableMs() ?? Number.POSITIVE_INFINITY) - delay <= 0) throw error;
      log?.warn('Typesense call failed; retrying', { call: what, attempt, delayMs: delay, error: (error as Error).message });
      await policy.sleep(delay);
    }
  }
}

/** The SearchPort over the official client; every call retried by `withSearchRetry`. */
export function typesenseSearchPort(client: Client, policy: IndexerRetryPolicy, log?: SearchRetryLog, deadline?: InvocationDeadline): SearchPort {
  const retry = <T>(what: string, call: () => Promise<T>) => withSearchRetry(what, call, policy, log, TYPESENSE_CALL_TIMEOUT_MS, deadline);
  return {
    async importUpsert(collection, documents) {
      const results = await retry(
        `import ${collection}`,
        async () => {
          try {
            // Check every line ourselves: HTTP 200 does not mean every document was accepted.
            return (await client
              .collections(collection)
              .documents()
              .import(documents as SearchDocument[], { action: 'upsert', throwOnFail: false } as never)) as unknown as { success: boolean; error?: string }[];
          } catch (error) {
            if (error instanceof Errors.ObjectNotFound) throw new CollectionMissingError(collection);
            throw error;
          }
        },
      );
      if (!Array.isArray(results) || results.length !== documents.length) {
        throw new Error(`Typesense import into ${collection} answered ${Array.isArray(results) ? results.length : 'no'} result lines for ${documents.length} documents`);
      }
      return results.map((r) => (r.success === true ? { success: true } : { success: false, error: String(r.error ?? 'import line failed without an error') }));
    },

    async deleteDocument(collection, id) {
      try {
        await retry(`delete ${collection}/${id}`, () => client.collections(collection).documents(id).delete());
        return 'deleted';
      } catch (error) {
        if (!(error instanceof Errors.ObjectNotFound)) throw error;
      }
      // 404 means "no such document" or "no such collection": tell them apart.
      try {
        await retry(`retrieve ${collection}`, () => client.collections(collection).retrieve());
      } catch (error) {
        if (error instanceof Errors.ObjectNotFound) throw new CollectionMissingError(collection);
        throw error;
      }
      return 'missing';
    },

    async createCollection(schema) {
      try {
        await retry(`create ${schema.name}`, () => client.collections().create(schema as never));
      } catch (error) {
        if (!(error instanceof Errors.ObjectAlreadyExists)) throw error;
      }
    },
  };
}
