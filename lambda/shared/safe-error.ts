/**
 * The one reduction of an error to what may be logged or rethrown: name, message, status,
 * code, retryable, and the cause chain reduced the same way. Nothing else survives.
 *
 * Why: a logger (Powertools copies every enumerable property of an error and of its causes)
 * or the Lambda runtime (it prints a thrown error's enumerable properties) would otherwise
 * print what client errors carry: the Typesense client's request config with its API key
 * header and the JSONL body, an axios request and response, an SDK error's returned item.
 * Every boundary that catches an error from an HTTP or SDK client reduces it here before
 * anything logs or rethrows it.
 */
import { classified, failureKindOf } from './metrics';

/** Longer messages are cut in the middle (the reason starts it, our messages end naming the record): a message is a reason, not a payload (a message naming a record and a document id with the longest keys stays whole). */
export const SAFE_MESSAGE_MAX_CHARS = 10_000;
const SAFE_NAME_MAX_CHARS = 100;
const MAX_CAUSE_DEPTH = 4;

/** Connection-level failures worth another try (Node and axios `code`s). */
const RETRYABLE_CODES = /^(ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_CONNECTION_TIMEOUT|UND_ERR_\w+)$/;
/** Throttling and transient names of AWS SDK errors. */
const RETRYABLE_NAMES = /throttl|toomanyrequests|requestlimitexceeded|provisionedthroughputexceeded|transactionconflict|transactioninprogress|serviceunavailable|internalserver|internalfailure|timeout/i;

export interface SafeErrorOptions {
  /** Overrides the guess from the error's status, code and name. */
  readonly retryable?: boolean;
}

/** An error reduced to its safe shape. Its own properties are exactly these (and `cause`). */
export class SafeError extends Error {
  readonly status?: number;
  readonly code?: string;
  readonly retryable: boolean;

  constructor(shape: { name: string; message: string; status?: number; code?: string; retryable: boolean; cause?: SafeError; frames?: string }) {
    super(shape.message, shape.cause ? { cause: shape.cause } : undefined);
    this.name = shape.name;
    if (shape.status !== undefined) this.status = shape.status;
    if (shape.code !== undefined) this.code = shape.code;
    this.retryable = shape.retryable;
    // The stack's first line repeats the original message: keep only the frames (code locations).
    this.stack = `${shape.name}: ${shape.message}${shape.frames ?? ''}`;
  }
}

type Loose = Record<string, unknown> & { $metadata?: { httpStatusCode?: unknown }; response?: { status?: unknown } };

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const tail = Math.floor(max / 4);
  return `${text.slice(0, max - tail)} …(${text.length - max} characters cut)… ${text.slice(text.length - tail)}`;
}

function statusOf(e: Loose): number | undefined {
  for (const candidate of [e.httpStatus, e.$metadata?.httpStatusCode, e.status, e.statusCode, e.response?.status]) {
    if (typeof candidate === 'number' && Number.isInteger(candidate) && candidate > 0) return candidate;
  }
  return undefined;
}

function codeOf(e: Loose): string | undefined {
  for (const candidate of [e.code, e.Code]) {
    if (typeof candidate === 'number') return String(candidate);
    if (typeof candidate === 'string' && /^[\w.:-]{1,100}$/.test(candidate)) return candidate;
  }
  return undefined;
}

function guessRetryable(e: Loose, name: string, status: number | undefined, code: string | undefined): boolean {
  if (typeof e.retryable === 'boolean') return e.retryable;
  if (e.$retryable !== undefined && e.$retryable !== null) return true;
  if (e.$fault === 'server') return true;
  // By name first: AWS throttling comes back as HTTP 400 (ThrottlingException,
  // ProvisionedThroughputExceededException), which the status alone would call final.
  if ((code !== undefined && RETRYABLE_CODES.test(code)) || RETRYABLE_NAMES.test(name)) return true;
  return status !== undefined && (status === 429 || status >= 500);
}

/** The Failures kind marked on `error` (or on an error in its cause chain), if any. */
function markedKind(error: unknown) {
  const kind = failureKindOf(error, 'decode');
  return kind === failureKindOf(error, 'fatal') ? kind : undefined;
}

/**
 * `error` reduced to a SafeError (a SafeError is returned as it is, unless `retryable` says
 * otherwise). Its Failures kind mark (lambda/shared/metrics.ts) carries over.
 */
export function safeError(error: unknown, options: SafeErrorOptions = {}, depth = 0): SafeError {
  if (error instanceof SafeError && (options.retryable === undefined || options.retryable === error.retryable)) return error;
  const e: Loose = typeof error === 'object' && error !== null ? (error as Loose) : {};
  const isObject = typeof error === 'object' && error !== null;
  const name = cut(typeof e.name === 'string' && e.name !== '' ? e.name : isObject ? 'Error' : typeof error, SAFE_NAME_MAX_CHARS);
  const status = statusOf(e);
  const code = codeOf(e);
  let message = isObject ? (typeof e.message === 'string' ? e.message : '') : String(error);
  if (message === '') message = code ?? (status !== undefined ? `HTTP ${status}` : '(no message)');
  const cause = e.cause !== undefined && e.cause !== null && depth < MAX_CAUSE_DEPTH ? safeError(e.cause, {}, depth + 1) : undefined;
  const frames = typeof e.stack === 'string' ? e.stack.split('\n').filter((line) => /^\s+at /.test(line)).map((line) => `\n${line}`).join('') : '';
  const safe = new SafeError({
    name,
    message: cut(message, SAFE_MESSAGE_MAX_CHARS),
    ...(status !== undefined && { status }),
    ...(code !== undefined && { code }),
    retryable: options.retryable ?? guessRetryable(e, name, status, code),
    ...(cause && { cause }),
    frames,
  });
  const kind = markedKind(error);
  return kind ? classified(safe, kind) : safe;
}

/** `Name: message` of the safe shape, for a one-line reason inside another message. */
export function safeReason(error: unknown): string {
  const safe = safeError(error);
  return `${safe.name}: ${safe.message}`;
}
