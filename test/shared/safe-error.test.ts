/**
 * safeError: the one reduction of an error to what may be logged or rethrown. The client
 * errors here are real ones (the Typesense client against the local stand-in, closed and
 * answering 503) or SDK-shaped ones carrying what real SDK errors can carry.
 */
import { inspect } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { classified, failureKindOf } from '../../lambda/shared/metrics';
import { SAFE_MESSAGE_MAX_CHARS, SafeError, safeError, safeReason } from '../../lambda/shared/safe-error';
import { typesenseClient } from '../../lambda/typesense-indexer/search';
import { startLocalTypesense } from '../../local/typesense-server';

const KEY = 'canary-api-key-7f3a';
const OWNER = 'Canary Owner Ozymandias';

/** Everything a Powertools logger or the Lambda runtime could print of `value`. */
function printed(value: unknown): string {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stdout.write);
  try {
    const logger = new Logger({ serviceName: 'safe-error-test' });
    logger.error('as a field', { error: value });
    if (value instanceof Error) logger.error('as the extra argument', value);
  } finally {
    spy.mockRestore();
  }
  // The runtime's "Invoke Error" line copies every enumerable property of a thrown error.
  const enumerable = (v: unknown): unknown => (v instanceof Error ? Object.assign({ errorType: v.name, errorMessage: v.message, stack: v.stack }, v) : v);
  return [...written, JSON.stringify(value, (_k, v) => enumerable(v)), inspect(value, { depth: 10, showHidden: true }), String((value as Error)?.stack)].join('\n');
}

async function typesenseErrors(): Promise<{ refused: unknown; unavailable: unknown }> {
  const server = await startLocalTypesense({ apiKey: KEY });
  await server.stop(); // nothing listens any more: ECONNREFUSED
  const closed = typesenseClient([server.url], KEY);
  const refused = await closed.collections('registry').documents().import([{ id: 'x', owner_name: OWNER }], { action: 'upsert' }).catch((e: unknown) => e);

  const live = await startLocalTypesense({ apiKey: KEY });
  try {
    live.failNext(1, 503);
    const client = typesenseClient([live.url], KEY);
    const unavailable = await client.collections('registry').documents().import([{ id: 'x', owner_name: OWNER }], { action: 'upsert' }).catch((e: unknown) => e);
    return { refused, unavailable };
  } finally {
    await live.stop();
  }
}

describe('safeError', () => {
  it("the Typesense client's errors hold the API key and the body; their safe shape holds neither", async () => {
    const { refused, unavailable } = await typesenseErrors();
    // The danger is real: the raw errors print the key (request config) and the document (httpBody / config.data).
    expect(printed(refused)).toContain(KEY);
    expect(printed(unavailable)).toContain(OWNER);

    const closed = safeError(refused);
    expect(closed).toMatchObject({ code: 'ECONNREFUSED', retryable: true });
    expect(closed.message).toMatch(/ECONNREFUSED/);
    const answered = safeError(unavailable);
    expect(answered).toMatchObject({ name: 'ServerError', status: 503, retryable: true });
    expect(answered.message).toBe('Request failed with HTTP code 503 | Server said: Not Ready or Lagging');
    for (const safe of [closed, answered]) {
      expect(printed(safe)).not.toContain(KEY);
      expect(printed(safe)).not.toContain(OWNER);
      expect(Object.keys(safe).sort()).toEqual(expect.arrayContaining(['name', 'retryable']));
      expect(Object.keys(safe).every((k) => ['name', 'status', 'code', 'retryable'].includes(k))).toBe(true);
    }
  });

  it('an SDK error keeps name, message, HTTP status, Code and retryable; the returned item, request and response go', () => {
    const sdk = Object.assign(new Error('Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed]'), {
      name: 'TransactionCanceledException',
      Code: 'TransactionCanceledException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400, requestId: 'R1' },
      $response: { body: `{"owner_name":"${OWNER}"}` },
      CancellationReasons: [{ Code: 'ConditionalCheckFailed', Item: { owner_name: { S: OWNER } } }],
      Item: { owner_name: { S: OWNER } },
    });
    const safe = safeError(sdk);
    expect({ ...safe }).toEqual({ name: 'TransactionCanceledException', status: 400, code: 'TransactionCanceledException', retryable: false });
    expect(safe.message).toBe(sdk.message);
    expect(printed(safe)).not.toContain(OWNER);
    expect(safeError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $retryable: { throttling: true }, $metadata: { httpStatusCode: 400 } })).retryable).toBe(true);
    expect(safeError(Object.assign(new Error('x'), { name: 'ProvisionedThroughputExceededException' })).retryable).toBe(true);
    // AWS throttling answers HTTP 400: the name decides, not the status.
    expect(safeError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })).retryable).toBe(true);
    expect(safeError(Object.assign(new Error('x'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } })).retryable).toBe(false);
  });

  it('reduces the cause chain the same way (bounded), and keeps the Failures kind marked anywhere on it', () => {
    const raw = Object.assign(new Error('inner'), { config: { headers: { 'X-TYPESENSE-API-KEY': KEY } } });
    const outer = new Error('outer', { cause: classified(raw, 'throttled') });
    const safe = safeError(outer);
    expect(safe.cause).toBeInstanceOf(SafeError);
    expect((safe.cause as SafeError).message).toBe('inner');
    expect(printed(safe)).not.toContain(KEY);
    expect(failureKindOf(safe)).toBe('throttled');
    expect(failureKindOf(safeError(new Error('unmarked')), 'decode')).toBe('decode');

    let deep: Error = new Error('0');
    for (let i = 1; i < 20; i += 1) deep = new Error(String(i), { cause: deep });
    let depth = 0;
    for (let e: unknown = safeError(deep); e instanceof Error; e = e.cause) depth += 1;
    expect(depth).toBe(5);
  });

  it('is idempotent, takes any thrown value, names an empty message by its code, and cuts a long one in the middle', () => {
    const once = safeError(new Error('x'));
    expect(safeError(once)).toBe(once);
    expect(safeError(once, { retryable: true }).retryable).toBe(true);
    expect(safeError('plain string')).toMatchObject({ name: 'string', message: 'plain string' });
    expect(safeError(undefined).message).toBe('undefined');
    expect(safeError(Object.assign(new Error(''), { code: 'ECONNREFUSED' })).message).toBe('ECONNREFUSED');
    const long = safeError(new Error(`start ${'x'.repeat(SAFE_MESSAGE_MAX_CHARS * 2)} end`));
    expect(long.message.length).toBeLessThan(SAFE_MESSAGE_MAX_CHARS + 100);
    expect(long.message).toMatch(/^start x+ …\(\d+ characters cut\)… x+ end$/);
    expect(safeReason(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))).toBe('AccessDeniedException: denied');
  });

  it("its stack keeps the original's frames but not the original's first line", () => {
    const raw = new Error(`multi\nline ${OWNER}`);
    const safe = safeError(Object.assign(raw, { message: 'reduced' }));
    expect(safe.stack).toMatch(/^Error: reduced\n\s+at /);
    expect(safe.stack).not.toContain(OWNER);
  });
});
