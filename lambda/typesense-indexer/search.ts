import { Client } from 'typesense';
import { safeError, type SafeError } from '../shared/safe-error';
import type { CollectionSchema, SearchDocument } from '../typesense-sync/documents';
import { fixedClient, isClientSource, type SearchClientSource } from './client-source';
import { DeadlineReached, type IndexerRetryPolicy, type InvocationDeadline } from './retry';
import { backoffDelay } from '../shared/backoff';

/** One import line's outcome, in the order of the documents sent. */
export type ImportResult = { readonly success: true } | { readonly success: false; readonly error: string };

/** The indexer's view of Typesense: three calls. */
export interface SearchPort {
  /** `POST /collections/:c/documents/import?action=upsert&dirty_values=reject`; one result per document, in order. */
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

/** Typesense refused the API key (401/403), also after the key was read again from its secret. */
export class SearchKeyRefused extends Error {
  readonly status?: number;
  constructor(what: string, refused: SafeError, reRead: 'unchanged' | 'refused again') {
    super(
      `${what}: Typesense refused the API key (HTTP ${refused.status ?? '?'}); the key was read again from its secret and ${reRead === 'unchanged' ? 'is unchanged' : 'was refused too'}`,
      { cause: refused },
    );
    this.name = 'SearchKeyRefused';
    if (refused.status !== undefined) this.status = refused.status;
  }
}

/** Connection and timeout settings of the Typesense client. */
export const TYPESENSE_CONNECTION_TIMEOUT_SECONDS = 5;
/** Imports are not bounded by the client (it skips its timeout for them); we bound every call, and cancel it at the bound. */
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
  if (error instanceof SearchKeyRefused) return false;
  const e = error as { httpStatus?: number; status?: number; code?: string; message?: string; name?: string; retryable?: unknown };
  if (typeof e.retryable === 'boolean') return e.retryable; // a safe shape that already says
  if (typeof e.httpStatus === 'number') return e.httpStatus === 429 || e.httpStatus >= 500;
  return e.name === 'SearchCallTimeout' || CONNECTION_ERROR.test(`${e.code ?? ''} ${e.message ?? ''}`);
}

const isKeyRefused = (error: SafeError) => error.status === 401 || error.status === 403;

class SearchCallTimeout extends Error {
  override readonly name = 'SearchCallTimeout';
}

/** Runs `call` with a signal that is aborted (the request cancelled, not abandoned) when `ms` pass first. */
function withTimeout<T>(call: (signal: AbortSignal) => Promise<T>, ms: number, what: string): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new SearchCallTimeout(`${what} took over ${ms} ms; the request was cancelled`));
      controller.abort();
    }, ms);
  });
  return Promise.race([call(controller.signal), timeout]).finally(() => clearTimeout(timer));
}

export interface SearchRetryLog {
  warn(message: string, extra: Record<string, unknown>): void;
}

/**
 * Runs `call` with backoff on retryable errors (equal jitter: lambda/shared/backoff.ts, so a
 * 503 "Not Ready or Lagging" from several containers spreads out). The last error is thrown
 * in its safe shape: the client's errors carry the request (API key header, JSONL body).
 * With a deadline, each attempt's timeout is cut to the time left, and no attempt or sleep
 * crosses it. An attempt that times out is cancelled through its AbortSignal.
 */
export async function withSearchRetry<T>(
  what: string,
  call: (signal: AbortSignal) => Promise<T>,
  policy: IndexerRetryPolicy,
  log?: SearchRetryLog,
  timeoutMs = TYPESENSE_CALL_TIMEOUT_MS,
  deadline?: InvocationDeadline,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const usable = deadline?.usableMs() ?? Number.POSITIVE_INFINITY;
    if (usable <= 0) throw new DeadlineReached(`${what}: not started, the function's deadline is near (margin ${deadline?.marginMs} ms)`);
    try {
      return await withTimeout(call, Math.min(timeoutMs, usable), what);
    } catch (raw) {
      const error = safeError(raw, { retryable: isRetryableSearchError(raw) });
      if (!error.retryable || attempt >= policy.maxAttempts) throw error;
      const delay = backoffDelay(attempt, policy, policy.random);
      if ((deadline?.usableMs() ?? Number.POSITIVE_INFINITY) - delay <= 0) throw error;
      log?.warn('Typesense call failed; retrying', { call: what, attempt, delayMs: delay, error: `${error.name}: ${error.message}` });
      await policy.sleep(delay);
    }
  }
}

export interface SearchPortOptions {
  /** Bound of one call (default TYPESENSE_CALL_TIMEOUT_MS); the deadline may cut it shorter. */
  readonly callTimeoutMs?: number;
}

type Method = 'get' | 'post' | 'delete';
interface RequestOptions {
  readonly query?: Record<string, string>;
  readonly body?: unknown;
  /** JSONL in, JSONL out, and no client-side timeout (the client's own choice for imports). */
  readonly jsonl?: boolean;
}

/** One request through the client's ApiCall: its nodes, key header and errors, plus our AbortSignal. */
function request<T>(client: Client, method: Method, path: string, signal: AbortSignal, options: RequestOptions = {}): Promise<T> {
  return client.apiCall.performRequest<T>(method, path, {
    queryParameters: options.query ?? null,
    bodyParameters: options.body ?? null,
    additionalHeaders: options.jsonl ? { 'Content-Type': 'text/plain' } : {},
    abortSignal: signal,
    skipConnectionTimeout: options.jsonl === true,
    enableKeepAlive: options.jsonl === true ? true : undefined,
  });
}

const collectionPath = (collection: string) => `/collections/${encodeURIComponent(collection)}`;

/** The import answer's lines: JSONL text, or (when served as JSON) one parsed line or a list. */
function importLines(answer: unknown): { success?: unknown; error?: unknown }[] {
  if (Array.isArray(answer)) return answer;
  if (typeof answer === 'string') return answer.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
  return answer !== null && typeof answer === 'object' ? [answer as { success?: unknown }] : [];
}

/** A rejected line's reason, bounded: Typesense's wording names the field, never the document. */
const lineError = (error: unknown) => String(error ?? 'import line failed without an error').slice(0, 300);

/**
 * The SearchPort over the official client; every call retried by `withSearchRetry` and
 * cancelled at its timeout. Given a SearchClientSource (index.ts), a 401/403 makes it read the
 * key again from its secret and build a new client, then the call is tried once more.
 */
export function typesenseSearchPort(
  clients: Client | SearchClientSource,
  policy: IndexerRetryPolicy,
  log?: SearchRetryLog,
  deadline?: InvocationDeadline,
  options: SearchPortOptions = {},
): SearchPort {
  const source = isClientSource(clients) ? clients : fixedClient(clients);
  const timeoutMs = options.callTimeoutMs ?? TYPESENSE_CALL_TIMEOUT_MS;

  const call = async <T>(what: string, fn: (client: Client, signal: AbortSignal) => Promise<T>): Promise<T> => {
    const client = await source.current();
    try {
      return await withSearchRetry(what, (signal) => fn(client, signal), policy, log, timeoutMs, deadline);
    } catch (error) {
      if (!(error instanceof Error) || !isKeyRefused(safeError(error))) throw error;
      const refused = safeError(error);
      const renewed = await source.renew(client);
      if (!renewed) throw new SearchKeyRefused(what, refused, 'unchanged');
      log?.warn('Typesense refused the API key; read it again from its secret, retrying once', { call: what, status: refused.status });
      try {
        return await withSearchRetry(what, (signal) => fn(renewed, signal), policy, log, timeoutMs, deadline);
      } catch (again) {
        const safe = safeError(again);
        throw isKeyRefused(safe) ? new SearchKeyRefused(what, safe, 'refused again') : safe;
      }
    }
  };
  const notFound = (error: unknown) => (error as { status?: unknown })?.status === 404;

  return {
    async importUpsert(collection, documents) {
      let answer: unknown;
      try {
        // dirty_values=reject: a value of the wrong type fails its line, never coerced (documents are typed already).
        answer = await call(`import ${collection}`, (client, signal) =>
          request(client, 'post', `${collectionPath(collection)}/documents/import`, signal, {
            query: { action: 'upsert', dirty_values: 'reject' },
            body: documents.map((d) => JSON.stringify(d)).join('\n'),
            jsonl: true,
          }),
        );
      } catch (error) {
        if (notFound(error)) throw new CollectionMissingError(collection);
        throw error;
      }
      // Check every line ourselves: HTTP 200 does not mean every document was accepted.
      const results = importLines(answer);
      if (results.length !== documents.length) {
        throw new Error(`Typesense import into ${collection} answered ${results.length} result lines for ${documents.length} documents`);
      }
      return results.map((r) => (r.success === true ? { success: true } : { success: false, error: lineError(r.error) }));
    },

    async deleteDocument(collection, id) {
      try {
        await call(`delete ${collection}/${id}`, (client, signal) => request(client, 'delete', `${collectionPath(collection)}/documents/${encodeURIComponent(id)}`, signal));
        return 'deleted';
      } catch (error) {
        if (!notFound(error)) throw error;
      }
      // 404 means "no such document" or "no such collection": tell them apart.
      try {
        await call(`retrieve ${collection}`, (client, signal) => request(client, 'get', collectionPath(collection), signal));
      } catch (error) {
        if (notFound(error)) throw new CollectionMissingError(collection);
        throw error;
      }
      return 'missing';
    },

    async createCollection(schema) {
      try {
        await call(`create ${schema.name}`, (client, signal) => request(client, 'post', '/collections', signal, { body: schema }));
      } catch (error) {
        if ((error as { status?: unknown })?.status !== 409) throw error;
      }
    },
  };
}
