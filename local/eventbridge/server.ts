/**
 * A local stand-in for Amazon EventBridge's PutEvents API. It is not EventBridge: no rules, no
 * targets, no archive, no persistence; it only accepts PutEvents and keeps the events in memory,
 * so `npm start`, the tests and the bench can run the real domain-events handler with the real
 * SDK client (pointed here with AWS_ENDPOINT_URL_EVENTBRIDGE or `endpoint`).
 *
 * It speaks the JSON protocol the SDK uses (POST /, `X-Amz-Target: AWSEvents.PutEvents`,
 * `application/x-amz-json-1.1`) and checks what EventBridge checks and the handler must respect:
 * - 1 to 10 entries per request, else a ValidationException for the whole request;
 * - the total entry size, counted as EventBridge counts it, below the limit (default 1,000,000
 *   bytes; see lambda/domain-events/entries.ts), else a ValidationException;
 * - per entry: Source, DetailType and Detail present, Detail a JSON object (MalformedDetail),
 *   no `aws.` source (NotAuthorizedForSourceException), a known bus (by name or ARN).
 * Per-entry failures come back in `Entries` with an ErrorCode and count in FailedEntryCount,
 * with HTTP 200, exactly like EventBridge. Signatures are not checked.
 *
 * Fault hooks: fail chosen entries with an ErrorCode a number of times, throttle or fail whole
 * requests. Everything listens on 127.0.0.1 only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { entrySize, PUT_EVENTS_MAX_BYTES, PUT_EVENTS_MAX_ENTRIES } from '../../lambda/domain-events/entries';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_BUS_NAME = 'stream-fanout-local';

/** An event as EventBridge would deliver it to a target (detail parsed). */
export interface StoredEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
  /** The bus it was put on (name). */
  readonly bus: string;
}

/** One request as the stand-in answered it (call counting in tests and the bench). */
export interface LoggedPutEvents {
  readonly entries: number;
  readonly failed: number;
  /** HTTP status; 200 also when entries failed. */
  readonly status: number;
  readonly error?: string;
}

/** An injected entry failure: entries for which `match` is true fail with `code`, `times` times (Infinity: until cleared). */
export interface EntryFault {
  readonly match: (entry: { readonly detailType: string; readonly detail: Record<string, unknown> }) => boolean;
  readonly code?: string;
  readonly message?: string;
  times: number;
}

export interface LocalEventBridgeOptions {
  /** Buses that exist, by name. Default: LOCAL_BUS_NAME and `default`. */
  readonly buses?: readonly string[];
  /** The request size limit in bytes. Default PUT_EVENTS_MAX_BYTES. */
  readonly maxRequestBytes?: number;
}

export interface LocalEventBridge {
  /** Give to the SDK as `endpoint` or AWS_ENDPOINT_URL_EVENTBRIDGE. */
  readonly url: string;
  readonly region: string;
  /** The ARN of a bus the stand-in knows. */
  busArn(name?: string): string;
  /** Every accepted event, in order of acceptance. */
  events(): readonly StoredEvent[];
  requests(): readonly LoggedPutEvents[];
  clear(): void;
  /** Entries matching `fault.match` fail with its ErrorCode (default InternalFailure, retryable). Returns a remover. */
  failEntries(fault: EntryFault): () => void;
  /** The next `count` requests get a ThrottlingException (nothing stored). */
  throttleNext(count: number): void;
  /** The next `count` requests get this error (nothing stored); e.g. 500 InternalException. */
  failNext(count: number, status: number, type: string): void;
  stop(): Promise<void>;
}

interface RawEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Resources?: unknown;
  Time?: unknown;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID(), ...headers });
  res.end(text);
};

/** An AWS JSON-protocol error, as the SDK parses it (x-amzn-errortype and __type). */
const awsError = (res: ServerResponse, status: number, type: string, message: string) => json(res, status, { __type: type, message }, { 'x-amzn-errortype': type });

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export async function startLocalEventBridge(options: LocalEventBridgeOptions = {}): Promise<LocalEventBridge> {
  const buses = new Set(options.buses ?? [LOCAL_BUS_NAME, 'default']);
  const maxBytes = options.maxRequestBytes ?? PUT_EVENTS_MAX_BYTES;
  const busArn = (name = LOCAL_BUS_NAME) => `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${name}`;
  const stored: StoredEvent[] = [];
  const log: LoggedPutEvents[] = [];
  const faults = new Set<EntryFault>();
  let throttle = 0;
  let failing: { count: number; status: number; type: string } | undefined;

  /** The bus name an EventBusName (name or ARN) refers to, if it exists. */
  const busOf = (value: unknown): string | undefined => {
    const name = value === undefined ? 'default' : str(value)?.replace(/^arn:aws:events:[^:]+:\d{12}:event-bus\//, '');
    return name !== undefined && buses.has(name) ? name : undefined;
  };

  /** One entry: its result, and the event to store when accepted. */
  function put(entry: RawEntry): { result: Record<string, string>; event?: StoredEvent } {
    const fail = (ErrorCode: string, ErrorMessage: string) => ({ result: { ErrorCode, ErrorMessage } });
    const source = str(entry.Source);
    const detailType = str(entry.DetailType);
    const detailText = str(entry.Detail);
    if (!source) return fail('InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.');
    if (!detailType) return fail('InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.');
    if (detailText === undefined) return fail('InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.');
    if (/^aws\./i.test(source)) return fail('NotAuthorizedForSourceException', 'Not authorized for the source.');
    let detail: unknown;
    try {
      detail = JSON.parse(detailText);
    } catch {
      return fail('MalformedDetail', 'Detail is malformed.');
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return fail('MalformedDetail', 'Detail is malformed.');
    const bus = busOf(entry.EventBusName);
    if (!bus) return fail('InvalidArgument', 'Event bus does not exist.');
    for (const fault of faults) {
      if (fault.times > 0 && fault.match({ detailType, detail: detail as Record<string, unknown> })) {
        fault.times -= 1;
        return fail(fault.code ?? 'InternalFailure', fault.message ?? 'injected failure (local stand-in)');
      }
    }
    const time = typeof entry.Time === 'number' ? new Date(entry.Time * 1000) : new Date();
    const id = randomUUID();
    const resources = Array.isArray(entry.Resources) ? entry.Resources.filter((r): r is string => typeof r === 'string') : [];
    return {
      result: { EventId: id },
      event: { version: '0', id, 'detail-type': detailType, source, account: LOCAL_ACCOUNT, time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'), region: LOCAL_REGION, resources, detail: detail as Record<string, unknown>, bus },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST') return awsError(res, 400, 'UnknownOperationException', 'only POST');
    const body = await readBody(req);
    if (target !== 'AWSEvents.PutEvents') {
      return awsError(res, 400, 'UnknownOperationException', `the local EventBridge stand-in implements PutEvents only (got ${String(target)})`);
    }
    const logged = (entry: LoggedPutEvents) => void log.push(entry);
    if (throttle > 0) {
      throttle -= 1;
      logged({ entries: 0, failed: 0, status: 400, error: 'ThrottlingException' });
      return awsError(res, 400, 'ThrottlingException', 'Rate exceeded');
    }
    if (failing && failing.count > 0) {
      failing.count -= 1;
      logged({ entries: 0, failed: 0, status: failing.status, error: failing.type });
      return awsError(res, failing.status, failing.type, 'injected failure (local stand-in)');
    }
    let request: { Entries?: unknown };
    try {
      request = JSON.parse(body) as { Entries?: unknown };
    } catch {
      logged({ entries: 0, failed: 0, status: 400, error: 'SerializationException' });
      return awsError(res, 400, 'SerializationException', 'request body is not JSON');
    }
    const entries = Array.isArray(request.Entries) ? (request.Entries as RawEntry[]) : [];
    if (entries.length < 1 || entries.length > PUT_EVENTS_MAX_ENTRIES) {
      logged({ entries: entries.length, failed: 0, status: 400, error: 'ValidationException' });
      return awsError(res, 400, 'ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${PUT_EVENTS_MAX_ENTRIES}`);
    }
    const total = entries.reduce(
      (sum, e) => sum + entrySize({ Source: str(e.Source), DetailType: str(e.DetailType), Detail: str(e.Detail), Time: e.Time === undefined ? undefined : new Date(0), Resources: Array.isArray(e.Resources) ? (e.Resources as string[]) : undefined }),
      0,
    );
    if (total >= maxBytes) {
      logged({ entries: entries.length, failed: 0, status: 400, error: 'ValidationException' });
      return awsError(res, 400, 'ValidationException', 'Total size of the entries in the request is over the limit.');
    }
    const results = entries.map(put);
    for (const r of results) if (r.event) stored.push(r.event);
    const failed = results.filter((r) => !r.event).length;
    logged({ entries: entries.length, failed, status: 200 });
    json(res, 200, { FailedEntryCount: failed, Entries: results.map((r) => r.result) });
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => awsError(res, 500, 'InternalException', (error as Error).message));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    region: LOCAL_REGION,
    busArn,
    events: () => stored,
    requests: () => log,
    clear: () => {
      stored.length = 0;
      log.length = 0;
    },
    failEntries: (fault) => {
      faults.add(fault);
      return () => void faults.delete(fault);
    },
    throttleNext: (count) => void (throttle = count),
    failNext: (count, status, type) => void (failing = { count, status, type }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
