/**
 * The local Typesense stand-in (local/typesense-server.ts), driven through the official
 * `typesense` client. No real Typesense server runs in CI; these tests pin the API subset
 * the indexer and the audit rely on, in Typesense's shapes.
 */
import { Client, Errors } from 'typesense';
import { startLocalTypesense, type LocalTypesense } from '../../local/typesense-server';
import { COLLECTION_SCHEMAS } from '../../lambda/typesense-sync/specs';

let server: LocalTypesense;
let client: Client;
const schema = COLLECTION_SCHEMAS.find((s) => s.name === 'icao_manufacturers')!;

beforeEach(async () => {
  server = await startLocalTypesense();
  client = new Client({ nodes: [{ url: server.url }], apiKey: server.apiKey, numRetries: 0, connectionTimeoutSeconds: 5, logLevel: 'silent' });
});
afterEach(() => server.stop());

describe('local Typesense stand-in (no real Typesense runs in CI)', () => {
  it('refuses a request without the API key (401) but answers /health', async () => {
    const wrong = new Client({ nodes: [{ url: server.url }], apiKey: 'nope', numRetries: 0, logLevel: 'silent' });
    await expect(wrong.collections().retrieve()).rejects.toBeInstanceOf(Errors.RequestUnauthorized);
    expect(await wrong.health.retrieve()).toEqual({ ok: true });
  });

  it('creates, lists and refuses a duplicate collection', async () => {
    await client.collections().create(schema as never);
    await expect(client.collections().create(schema as never)).rejects.toBeInstanceOf(Errors.ObjectAlreadyExists);
    expect((await client.collections().retrieve()).map((c) => c.name)).toEqual(['icao_manufacturers']);
    await expect(client.collections('nope').retrieve()).rejects.toBeInstanceOf(Errors.ObjectNotFound);
  });

  it('imports with a per-line result: HTTP 200 with failed lines (missing required field, wrong type, bad JSON)', async () => {
    await client.collections().create(schema as never);
    const body = [
      JSON.stringify({ id: 'a', code: 'A', name: 'Airbus' }),
      JSON.stringify({ id: 'b', code: 'B' }),
      JSON.stringify({ id: 'c', code: 'C', name: { x: 1 } }),
      '{oops',
    ].join('\n');
    const out = await client.collections('icao_manufacturers').documents().import(body, { action: 'upsert' });
    const lines = out.split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.success)).toEqual([true, false, false, false]);
    expect(lines[1].error).toBe('Field `name` has been declared in the schema, but is not found in the document.');
    expect(lines[2].error).toBe('Field `name` must be a string.');
    expect(lines[3]).toMatchObject({ error: 'Bad JSON.', document: '{oops' });
    expect(server.documents('icao_manufacturers')?.size).toBe(1);
  });

  it("dirty_values as Typesense reads it: reject by default without wildcard fields, coerce_or_reject by default with one, the parameter wins", async () => {
    await client.collections().create(schema as never);
    await client.collections().create({ name: 'wild', fields: [{ name: 'name', type: 'string' }, { name: '.*', type: 'auto' }] } as never);
    const numberInString = [{ id: 'n', code: 'N', name: 42 }];
    const lines = async (collection: string, options: Record<string, string>) =>
      (await client.collections(collection).documents().import(numberInString, { ...options, throwOnFail: false } as never)).map((l) => (l.success ? 'ok' : l.error));
    expect(await lines('icao_manufacturers', { action: 'upsert' })).toEqual(['Field `name` must be a string.']);
    expect(await lines('icao_manufacturers', { action: 'upsert', dirty_values: 'reject' })).toEqual(['Field `name` must be a string.']);
    expect(await lines('icao_manufacturers', { action: 'upsert', dirty_values: 'COERCE_OR_REJECT' })).toEqual(['ok']);
    expect(server.documents('icao_manufacturers')?.get('n')).toEqual({ id: 'n', code: 'N', name: '42' });
    expect(await lines('wild', { action: 'upsert' })).toEqual(['ok']);
    expect(await lines('wild', { action: 'upsert', dirty_values: 'reject' })).toEqual(['Field `name` must be a string.']);
    expect(await lines('wild', { action: 'upsert', dirty_values: 'no-such-mode' })).toEqual(['ok']); // unknown: Typesense's default
    await expect(client.collections('wild').documents().import(numberInString, { action: 'upsert', dirty_values: 'drop' })).rejects.toMatchObject({ httpStatus: 400 });
  });

  it('a rotated key answers 401 to the old one; an unanswered request is logged as cancelled when the client gives up', async () => {
    await client.collections().create(schema as never);
    server.rotateApiKey('new-key');
    await expect(client.collections().retrieve()).rejects.toMatchObject({ httpStatus: 401 });
    const rotated = new Client({ nodes: [{ url: server.url }], apiKey: 'new-key', numRetries: 0, connectionTimeoutSeconds: 0.2, logLevel: 'silent' });
    expect(server.apiKey).toBe('new-key');
    server.stallNext(1);
    await expect(rotated.collections().retrieve()).rejects.toThrow(/timeout/);
    for (let i = 0; i < 200 && !server.requests().some((r) => r.cancelled); i += 1) await new Promise((r) => setTimeout(r, 10));
    expect(server.requests().map((r) => [r.status, r.cancelled ?? false])).toEqual([
      [201, false],
      [401, false],
      [0, true],
    ]);
  });

  it('upsert replaces the whole document; export lists JSONL; delete answers 404 for a missing id', async () => {
    await client.collections().create(schema as never);
    const docs = client.collections('icao_manufacturers').documents();
    await docs.import([{ id: 'a', code: 'A', name: 'Airbus', country: 'FR' }], { action: 'upsert' });
    await docs.import([{ id: 'a', code: 'A', name: 'Airbus SE' }], { action: 'upsert' });
    expect(await client.collections('icao_manufacturers').documents('a').retrieve()).toEqual({ id: 'a', code: 'A', name: 'Airbus SE' });
    expect(await docs.export()).toBe(JSON.stringify({ id: 'a', code: 'A', name: 'Airbus SE' }));
    await client.collections('icao_manufacturers').documents('a').delete();
    await expect(client.collections('icao_manufacturers').documents('a').delete()).rejects.toBeInstanceOf(Errors.ObjectNotFound);
  });

  it('injects 429, 503, connection resets and rejected documents', async () => {
    await client.collections().create(schema as never);
    server.failNext(1, 429);
    await expect(client.collections().retrieve()).rejects.toMatchObject({ httpStatus: 429 });
    server.failNext(1, 503);
    await expect(client.collections().retrieve()).rejects.toMatchObject({ httpStatus: 503 });
    server.resetNext(1);
    await expect(client.collections().retrieve()).rejects.toThrow(/socket hang up|ECONNRESET/);
    server.rejectDocument('a', 'injected');
    const out = await client.collections('icao_manufacturers').documents().import([{ id: 'a', code: 'A', name: 'A' }], { action: 'upsert', throwOnFail: false } as never);
    expect(out).toEqual([expect.objectContaining({ success: false, error: 'injected' })]);
    expect(server.requests().map((r) => r.status)).toEqual([201, 429, 503, 0, 200]);
  });
});
