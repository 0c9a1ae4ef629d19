/**
 * A local stand-in for Typesense. No Typesense server can run on these machines (and none
 * runs in CI), so the indexer's tests, `npm start` and the audit talk to this HTTP server,
 * which speaks the subset of Typesense's API they use, with Typesense's status codes and
 * response shapes:
 *
 *   GET  /health                                        {"ok":true} (no key needed)
 *   GET  /collections, POST /collections                list / create (409 when it exists)
 *   GET  /collections/:name, DELETE /collections/:name  404 when missing
 *   POST /collections/:name/documents/import?action=upsert|create[&dirty_values=reject|coerce_or_reject]
 *        JSONL in, JSONL out, HTTP 200 even when lines fail: each line is
 *        {"success":true} or {"success":false,"error":..,"document":"<the line>"}.
 *        Without dirty_values (or with a value Typesense does not know) the default is
 *        Typesense's: coerce_or_reject when the schema has a wildcard or dynamic field
 *        (`.*`, a name containing `.*`, type `auto` or `string*`), reject otherwise.
 *   GET|DELETE /collections/:name/documents/:id         404 when missing
 *   GET  /collections/:name/documents/export            JSONL; `filter_by=id:[a,b,..]` only those ids
 *
 * Every other request needs the X-TYPESENSE-API-KEY header (or the x-typesense-api-key
 * query parameter); without it: 401. Documents are validated against the collection schema
 * (local/typesense-store.ts). Fault hooks let tests inject 401/403/404/429/503 answers,
 * connection resets, requests left unanswered (a client timeout), a rotated API key and
 * rejected import lines. It is a test double, not Typesense: no search, no persistence, no
 * clustering.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { defaultDirtyValues, describeCollection, DocumentRejected, parseCollectionSchema, parseDirtyValues, validateDocument, type DirtyValues, type LocalCollection } from './typesense-store';

export interface LocalTypesenseOptions {
  readonly apiKey?: string;
  /** Default 0: a free port. */
  readonly port?: number;
}

/** One request as the server saw it (for call counting in tests and the bench). */
export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Import lines in the request (0 for other requests). */
  readonly lines: number;
  /** The client closed the connection before an answer (a request held by `stallNext`). */
  readonly cancelled?: boolean;
}

export interface LocalTypesense {
  readonly url: string;
  /** The key the server accepts now (see rotateApiKey). */
  readonly apiKey: string;
  stop(): Promise<void>;
  /** The next `count` authenticated requests answer `status` (e.g. 401, 403, 404, 429, 503) without effect. */
  failNext(count: number, status: number): void;
  /** The next `count` requests get their connection reset (ECONNRESET on the client) without effect. */
  resetNext(count: number): void;
  /** The next `count` authenticated requests get no answer, without effect, until the client gives up and closes. */
  stallNext(count: number): void;
  /** From now on only `key` is accepted (a key rotation: the old key answers 401). */
  rotateApiKey(key: string): void;
  /** Import lines for this document id fail (`success:false`) until `acceptDocument`. */
  rejectDocument(id: string, error?: string, collection?: string): void;
  acceptDocument(id: string): void;
  /** Every request so far, in order. */
  requests(): readonly LoggedRequest[];
  clearRequests(): void;
  /** Direct read of a collection's documents (tests; the audit reads through the API). */
  documents(collection: string): ReadonlyMap<string, Readonly<Record<string, unknown>>> | undefined;
}

/** Typesense's wording for the statuses `failNext` injects. */
const FAULT_MESSAGES: Readonly<Record<number, string>> = {
  401: 'Forbidden - a valid `x-typesense-api-key` header must be sent.',
  403: 'Forbidden - a valid `x-typesense-api-key` header must be sent.',
  404: 'Not Found',
  429: 'Rate limit exceeded or blocked',
  503: 'Not Ready or Lagging',
};

const json = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

const text = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startLocalTypesense(options: LocalTypesenseOptions = {}): Promise<LocalTypesense> {
  let apiKey = options.apiKey ?? `local-${randomBytes(12).toString('hex')}`;
  const collections = new Map<string, LocalCollection>();
  const rejected = new Map<string, { error: string; collection?: string }>();
  const log: LoggedRequest[] = [];
  const sockets = new Set<Socket>();
  let failures: { count: number; status: number } = { count: 0, status: 0 };
  let resets = 0;
  let stalls = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<{ status: number; lines: number; cancelled?: boolean }> => {
    const url = new URL(req.url ?? '/', 'http://local');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readBody(req) : '';

    if (method === 'GET' && url.pathname === '/health') return (json(res, 200, { ok: true }), { status: 200, lines: 0 });
    const key = req.headers['x-typesense-api-key'] ?? url.searchParams.get('x-typesense-api-key');
    if (key !== apiKey) {
      json(res, 401, { message: 'Forbidden - a valid `x-typesense-api-key` header must be sent.' });
      return { status: 401, lines: 0 };
    }
    if (failures.count > 0) {
      failures.count -= 1;
      json(res, failures.status, { message: FAULT_MESSAGES[failures.status] ?? 'Not Ready or Lagging' });
      return { status: failures.status, lines: 0 };
    }
    if (stalls > 0) {
      stalls -= 1;
      await new Promise<void>((resolve) => res.once('close', () => resolve()));
      return { status: 0, lines: body.split('\n').filter((line) => line.trim() !== '').length, cancelled: true };
    }
    const reply = (status: number, payload: unknown, lines = 0) => (json(res, status, payload), { status, lines });
    const notFound = () => reply(404, { message: 'Not Found' });

    if (parts[0] !== 'collections') return notFound();
    if (parts.length === 1) {
      if (method === 'GET') return reply(200, [...collections.values()].map(describeCollection));
      if (method !== 'POST') return notFound();
      let schema: unknown;
      try {
        schema = JSON.parse(body);
      } catch {
        return reply(400, { message: 'Bad JSON.' });
      }
      const parsed = parseCollectionSchema(schema);
      if (typeof parsed === 'string') return reply(400, { message: parsed });
      if (collections.has(parsed.name)) return reply(409, { message: `A collection with name \`${parsed.name}\` already exists.` });
      collections.set(parsed.name, parsed);
      return reply(201, describeCollection(parsed));
    }

    const collection = collections.get(parts[1]!);
    if (!collection) return notFound();
    if (parts.length === 2) {
      if (method === 'GET') return reply(200, describeCollection(collection));
      if (method === 'DELETE') {
        collections.delete(collection.name);
        return reply(200, describeCollection(collection));
      }
      return notFound();
    }
    if (parts[2] !== 'documents' || parts.length !== 4) return notFound();
    const sub = parts[3]!;

    if (sub === 'import' && method === 'POST') {
      const action = url.searchParams.get('action') ?? 'create';
      if (action !== 'upsert' && action !== 'create') return reply(400, { message: `This stand-in supports action=upsert|create, not ${action}.` });
      const dirty = parseDirtyValues(url.searchParams.get('dirty_values')) ?? defaultDirtyValues(collection);
      if (dirty === 'unsupported') return reply(400, { message: `This stand-in supports dirty_values=reject|coerce_or_reject, not ${url.searchParams.get('dirty_values')}.` });
      const lines = body.split('\n').filter((line) => line.trim() !== '');
      if (lines.length === 0) return reply(400, { message: 'The request body was empty.' });
      const results = lines.map((line) => importLine(collection, line, action, dirty));
      text(res, 200, results.map((r) => JSON.stringify(r)).join('\n'));
      return { status: 200, lines: lines.length };
    }
    if (sub === 'export' && method === 'GET') {
      const filter = url.searchParams.get('filter_by');
      const ids = filter === null ? null : /^id:\[([^\]]*)\]$/.exec(filter)?.[1]?.split(',').map((id) => id.trim());
      if (ids === undefined) return reply(400, { message: `This stand-in supports filter_by=id:[..] on export only, not ${filter}.` });
      const docs = (ids === null ? [...collection.documents.values()] : ids.flatMap((id) => collection.documents.get(id) ?? [])).map((d) => JSON.stringify(d)).join('\n');
      text(res, 200, docs);
      return { status: 200, lines: 0 };
    }
    const doc = collection.documents.get(sub);
    if (method === 'GET') return doc ? reply(200, doc) : reply(404, { message: `Could not find a document with id: ${sub}` });
    if (method === 'DELETE') {
      if (!doc) return reply(404, { message: `Could not find a document with id: ${sub}` });
      collection.documents.delete(sub);
      return reply(200, doc);
    }
    return notFound();
  };

  const importLine = (collection: LocalCollection, line: string, action: string, dirty: DirtyValues): Record<string, unknown> => {
    let document: unknown;
    try {
      document = JSON.parse(line);
    } catch {
      return { success: false, error: 'Bad JSON.', document: line };
    }
    try {
      const doc = validateDocument(collection, document, dirty);
      const id = doc.id as string;
      const injected = rejected.get(id);
      if (injected && (injected.collection === undefined || injected.collection === collection.name)) throw new DocumentRejected(injected.error);
      if (action === 'create' && collection.documents.has(id)) return { success: false, error: `A document with id ${id} already exists.`, document: line, code: 409 };
      collection.documents.set(id, doc); // upsert replaces the whole document
      return { success: true };
    } catch (error) {
      if (!(error instanceof DocumentRejected)) throw error;
      return { success: false, error: error.message, document: line, code: 400 };
    }
  };

  const server = createServer((req, res) => {
    if (resets > 0) {
      resets -= 1;
      log.push({ method: req.method ?? '?', path: req.url ?? '', status: 0, lines: 0 });
      req.socket.destroy();
      return;
    }
    handle(req, res).then(
      ({ status, lines, cancelled }) => log.push({ method: req.method ?? '?', path: req.url ?? '', status, lines, ...(cancelled && { cancelled }) }),
      (error: unknown) => {
        log.push({ method: req.method ?? '?', path: req.url ?? '', status: 500, lines: 0 });
        if (!res.headersSent) json(res, 500, { message: `local typesense: ${(error as Error).message}` });
      },
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get apiKey() {
      return apiKey;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        for (const socket of sockets) socket.destroy();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
    failNext: (count, status) => {
      failures = { count, status };
    },
    resetNext: (count) => {
      resets = count;
    },
    stallNext: (count) => {
      stalls = count;
    },
    rotateApiKey: (key) => {
      apiKey = key;
    },
    rejectDocument: (id, error = 'Field `registration` must be a string.', collection) => void rejected.set(id, { error, ...(collection && { collection }) }),
    acceptDocument: (id) => void rejected.delete(id),
    requests: () => [...log],
    clearRequests: () => void log.splice(0),
    documents: (name) => collections.get(name)?.documents,
  };
}
