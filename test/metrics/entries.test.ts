/**
 * The deployable entries (lambda/<name>/index.ts) wire their module-scope Metrics into their
 * handler: one invocation that needs no I/O (a record the function does not own; for the
 * indexer, an event that is not an SQS batch) prints its EMF line(s) with the namespace and
 * service the stack sets through POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME.
 */
import type { Context } from 'aws-lambda';
import { insertRecord, streamEvent } from '../support/events';
import { capture, countersOf, enableMetrics, failuresOf } from './support';

type Handler = (event: unknown, context?: Context) => Promise<unknown>;

const ENTRY_ENV: Record<string, string> = {
  TABLE_NAME: 'metrics-entry-table',
  TYPESENSE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/search.fifo',
  TYPESENSE_NODES: 'http://127.0.0.1:9',
  TYPESENSE_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:typesense-AbCdEf',
  AWS_REGION: 'us-east-1',
};
const saved = { ...process.env };
let restore: () => void;
beforeAll(() => (restore = enableMetrics()));
afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});
afterAll(() => restore());

const loadEntry = (name: string, env: Record<string, string>): Handler => {
  Object.assign(process.env, ENTRY_ENV, env, { POWERTOOLS_METRICS_DISABLED: 'false' });
  let entry: { handler: Handler } | undefined;
  jest.isolateModules(() => {
    entry = require(`../../lambda/${name}/index`);
  });
  return entry!.handler;
};

const foreignTo: Record<string, () => unknown> = {
  'image-sync': () => streamEvent(insertRecord({ PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#E1#SN#1' })),
  'faa-matcher-sync': () => streamEvent(insertRecord({ PK: 'IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#E1', SK: 'IMG#000001' })),
  'typesense-sync': () => streamEvent(insertRecord({ PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#E1#SN#1' })),
};

describe('entries publish through their module-scope Metrics', () => {
  it.each(Object.keys(foreignTo))('%s: one line in the stack\'s namespace with its service; a foreign record is received and skipped', async (name) => {
    const handler = loadEntry(name, { POWERTOOLS_METRICS_NAMESPACE: 'StreamFanoutEntryTest', POWERTOOLS_SERVICE_NAME: name });
    const { result, docs } = await capture(() => handler(foreignTo[name]!()));
    expect(result).toEqual({ batchItemFailures: [] });
    const counters = countersOf(docs);
    expect(counters).toMatchObject({ namespace: 'StreamFanoutEntryTest', service: name });
    expect(counters.values).toMatchObject({ RecordsReceived: 1, RecordsOwned: 0, RecordsSkipped: 1 });
  });

  it('typesense-indexer: an event that is not an SQS batch still publishes (Failures kind=decode) before the handler throws', async () => {
    const handler = loadEntry('typesense-indexer', { POWERTOOLS_METRICS_NAMESPACE: 'StreamFanoutEntryTest', POWERTOOLS_SERVICE_NAME: 'typesense-indexer' });
    const { error, docs } = await capture(() => handler({}));
    expect(String(error)).toContain('not an SQS batch');
    expect(countersOf(docs)).toMatchObject({ namespace: 'StreamFanoutEntryTest', service: 'typesense-indexer' });
    expect(countersOf(docs).values).toEqual({ DocumentsImported: 0, DocumentsDeleted: 0, DocumentsRejected: 0 });
    expect(failuresOf(docs)).toEqual({ decode: 1 });
    expect(docs.every((d) => d.namespace === 'StreamFanoutEntryTest' && d.service === 'typesense-indexer')).toBe(true);
  });

  it('without POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME: namespace StreamFanout and the entry\'s own name', async () => {
    delete process.env.POWERTOOLS_METRICS_NAMESPACE;
    delete process.env.POWERTOOLS_SERVICE_NAME;
    const handler = loadEntry('image-sync', {});
    const { docs } = await capture(() => handler(foreignTo['image-sync']!()));
    expect(countersOf(docs)).toMatchObject({ namespace: 'StreamFanout', service: 'image-sync' });
  });
});
