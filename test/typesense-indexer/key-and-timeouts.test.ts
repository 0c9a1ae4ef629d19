/**
 * The indexer's API key in a real account (read again past its max age and after a 401/403,
 * then the call tried once more), its call timeout (the request cancelled, not abandoned),
 * dirty_values=reject on imports and the jittered backoff on 503. Against DynamoDB Local and
 * the local Typesense stand-in (no real Typesense runs in CI); Secrets Manager is a stub.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { keyedClients } from '../../lambda/typesense-indexer/client-source';
import { createIndexerHandler, indexBatch } from '../../lambda/typesense-indexer/handler';
import { DEFAULT_INDEXER_RETRY } from '../../lambda/typesense-indexer/retry';
import { typesenseClient, typesenseSearchPort, type SearchPortOptions } from '../../lambda/typesense-indexer/search';
import { CachedSecret } from '../../lambda/typesense-indexer/secret';
import { exportIndex } from '../../local/pipeline';
import { faaRow } from '../typesense-sync/support/rows';
import { indexerRig, sqsRecord, triggerBody, type IndexerRig } from './support';

const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:typesense-key';
const key = (row: { PK: unknown; SK: unknown }) => ({ PK: String(row.PK), SK: String(row.SK) });

let rig: IndexerRig;
beforeEach(async () => {
  rig = await indexerRig();
});
afterEach(() => rig.stop());

/** A Secrets Manager stub holding `value`, an injectable clock, and the port index.ts builds over them. */
function secretPort(value: string, options: SearchPortOptions = {}) {
  const secret = { value, reads: 0, fail: undefined as Error | undefined };
  const reader = {
    send: async (c: GetSecretValueCommand) => {
      expect(c.input.SecretId).toBe(ARN);
      secret.reads += 1;
      if (secret.fail) throw secret.fail;
      return { $metadata: {}, SecretString: secret.value };
    },
  };
  const clock = { now: 0 };
  const cached = new CachedSecret(reader, ARN, { maxAgeMs: 300_000, minForcedRefreshMs: 10_000, now: () => clock.now });
  const logger = new Logger({ serviceName: 'key-test', logLevel: 'SILENT' });
  const warn = jest.spyOn(logger, 'warn');
  const error = jest.spyOn(logger, 'error');
  const sleeps: number[] = [];
  const policy = { ...DEFAULT_INDEXER_RETRY, sleep: async (ms: number) => void sleeps.push(ms), random: () => 0.5 };
  const search = typesenseSearchPort(keyedClients(cached, (k) => typesenseClient([rig.server.url], k)), policy, logger, undefined, options);
  const run = (rows: { PK: unknown; SK: unknown }[]) => indexBatch({ ...rig.deps, search, logger }, rows.map((r) => sqsRecord(triggerBody(key(r)))));
  const logged = () => JSON.stringify(error.mock.calls, (_k, v) => (v instanceof Error ? { ...v, message: v.message } : v));
  return { secret, clock, warn, error, sleeps, run, logged };
}

describe('the API key in a real account', () => {
  it('a rotated key: the 401 makes the indexer read the secret again and retry once with a new client; nothing is lost', async () => {
    await rig.put(faaRow('N1'));
    await rig.put(faaRow('N2'));
    const port = secretPort(rig.server.apiKey);
    expect((await port.run([faaRow('N1')])).response.batchItemFailures).toEqual([]);
    rig.server.rotateApiKey('rotated-key-2');
    port.secret.value = 'rotated-key-2';
    port.clock.now = 60_000; // well within the max age: only the refusal makes it read again
    const outcome = await port.run([faaRow('N2')]);
    expect(outcome.response.batchItemFailures).toEqual([]);
    expect(port.secret.reads).toBe(2);
    expect(rig.imports().map((r) => r.status)).toEqual([200, 401, 200]);
    expect(port.warn).toHaveBeenCalledWith(expect.stringContaining('refused the API key'), { call: 'import registry', status: 401 });
    expect([...(await exportIndex(typesenseClient([rig.server.url], 'rotated-key-2'))).get('registry')!.keys()].sort()).toEqual(['faa.N1', 'faa.N2']);
  });

  it('past the max age the key is read again before any call (no refusal needed)', async () => {
    await rig.put(faaRow('N1'));
    const port = secretPort(rig.server.apiKey);
    await port.run([faaRow('N1')]);
    rig.server.rotateApiKey('rotated-key-3');
    port.secret.value = 'rotated-key-3';
    port.clock.now = 300_000;
    expect((await port.run([faaRow('N1')])).response.batchItemFailures).toEqual([]);
    expect(rig.imports().map((r) => r.status)).toEqual([200, 200]);
    expect(port.secret.reads).toBe(2);
  });

  it('a 403 with the key unchanged in its secret fails the documents once, naming the refusal; no second call', async () => {
    await rig.put(faaRow('N1'));
    const port = secretPort(rig.server.apiKey);
    await port.run([faaRow('N1')]);
    port.clock.now = 20_000;
    rig.server.failNext(1, 403);
    expect((await port.run([faaRow('N1')])).response.batchItemFailures).toHaveLength(1);
    expect(port.secret.reads).toBe(2); // read, then read again after the 403: the same key
    expect(rig.imports().map((r) => r.status)).toEqual([200, 403]);
    expect(port.logged()).toMatch(/import registry: Typesense refused the API key \(HTTP 403\); the key was read again from its secret and is unchanged/);
    expect(port.logged()).not.toContain(rig.server.apiKey);
  });

  it('a refusal right after the key was read does not read it again (at most one forced read per 10 s)', async () => {
    await rig.put(faaRow('N1'));
    const port = secretPort(rig.server.apiKey);
    rig.server.failNext(1, 401);
    expect((await port.run([faaRow('N1')])).response.batchItemFailures).toHaveLength(1);
    expect(port.secret.reads).toBe(1);
  });

  it('a new key that is refused too fails after exactly one retry', async () => {
    await rig.put(faaRow('N1'));
    const port = secretPort(rig.server.apiKey);
    await port.run([faaRow('N1')]);
    rig.server.rotateApiKey('the-real-one');
    port.secret.value = 'also-refused';
    port.clock.now = 40_000;
    expect((await port.run([faaRow('N1')])).response.batchItemFailures).toHaveLength(1);
    expect(port.secret.reads).toBe(2);
    expect(rig.imports().map((r) => r.status)).toEqual([200, 401, 401]);
    expect(port.logged()).toMatch(/refused the API key \(HTTP 401\); the key was read again from its secret and was refused too/);
    expect(port.logged()).not.toContain('also-refused');
  });

  it('an unreadable secret fails every document naming the secret ARN, never a key; no Typesense call is made', async () => {
    await rig.put(faaRow('N1'));
    const port = secretPort('never-used');
    port.secret.fail = Object.assign(new Error(`User is not authorized to perform secretsmanager:GetSecretValue on resource ${ARN}`), {
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const outcome = await port.run([faaRow('N1')]);
    expect(outcome.response.batchItemFailures).toHaveLength(1);
    expect(rig.server.requests()).toEqual([]);
    expect(port.logged()).toContain(`the Typesense API key secret ${ARN} could not be used: GetSecretValue failed: AccessDeniedException`);
  });
});

describe('the call timeout cancels the request', () => {
  it('an import left unanswered is cancelled at the timeout (the server sees the connection closed), then retried with backoff', async () => {
    await rig.put(faaRow('N1'));
    const port = secretPort(rig.server.apiKey, { callTimeoutMs: 200 });
    rig.server.stallNext(1);
    const outcome = await port.run([faaRow('N1')]);
    expect(outcome.response.batchItemFailures).toEqual([]);
    await until(() => rig.server.requests().some((r) => r.cancelled === true));
    // The cancelled request is logged when its close reaches the server, which may come after the retry's answer.
    expect(rig.imports().map((r) => [r.status, r.cancelled ?? false]).sort()).toEqual([
      [0, true],
      [200, false],
    ]);
    expect(port.sleeps).toEqual([75]);
    expect(JSON.stringify(port.warn.mock.calls)).toMatch(/import registry took over 200 ms; the request was cancelled/);
  });
});

describe('imports', () => {
  it('send dirty_values=reject (a value of the wrong type fails its line, never coerced) and action=upsert', async () => {
    await rig.put(faaRow('N1'));
    expect(await rig.failed([sqsRecord(triggerBody(key(faaRow('N1'))))])).toEqual([]);
    const path = rig.imports()[0]!.path;
    expect(new URL(path, 'http://x').searchParams.get('dirty_values')).toBe('reject');
    expect(new URL(path, 'http://x').searchParams.get('action')).toBe('upsert');
  });

  it('a 503 "Not Ready or Lagging" is retried with jittered backoff: the delay spans base/2 .. base for the first retry', async () => {
    await rig.put(faaRow('N1'));
    const delays: number[] = [];
    for (const random of [0, 0.999]) {
      const search = typesenseSearchPort(rig.client, { ...DEFAULT_INDEXER_RETRY, sleep: async (ms) => void delays.push(ms), random: () => random });
      rig.server.failNext(1, 503);
      expect((await indexBatch({ ...rig.deps, search }, [sqsRecord(triggerBody(key(faaRow('N1'))))])).response.batchItemFailures).toEqual([]);
    }
    expect(delays).toEqual([50, 100]);
  });
});

describe('a batch that failed whole', () => {
  it('is logged and thrown naming its first message and the reason, in a safe shape', async () => {
    await rig.put(faaRow('N1'));
    const logger = new Logger({ serviceName: 'whole', logLevel: 'SILENT' });
    const error = jest.spyOn(logger, 'error');
    jest.spyOn(logger, 'info').mockImplementation(() => {
      throw Object.assign(new Error('logger broke'), { config: { headers: { 'X-TYPESENSE-API-KEY': rig.server.apiKey } } });
    });
    const records = [sqsRecord(triggerBody(key(faaRow('N1'))))];
    const thrown = await createIndexerHandler({ ...rig.deps, logger })({ Records: records }).catch((e: unknown) => e);
    expect((thrown as Error).name).toBe('IndexerBatchFailed');
    expect((thrown as Error).message).toBe(`every message of the batch failed (1 messages; the first: SQS messageId=${records[0]!.messageId} group=registry:faa.N1): Error: logger broke`);
    expect(JSON.stringify(thrown, (_k, v) => (v instanceof Error ? { ...v, message: v.message } : v))).not.toContain(rig.server.apiKey);
    expect(JSON.stringify(error.mock.calls)).not.toContain(rig.server.apiKey);
    expect(error).toHaveBeenCalledWith('search batch failed whole; every message will be redelivered', expect.objectContaining({ messageId: records[0]!.messageId }));
  });
});

/** Waits (bounded) for something the server logs once the client's close reaches it. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}
