/**
 * docs/queue-message.schema.json describes what is really sent: messages produced by
 * typesense-sync (stream) and by the tools' sender are validated against it with ajv.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import Ajv2020 from 'ajv/dist/2020';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolTriggers } from '../../lambda/shared/trigger';
import { createTypesenseHandler } from '../../lambda/typesense-sync/handler';
import { createSearchTriggerSender } from '../../lambda/typesense-sync/sender';
import { LocalFifoQueue } from '../../local/fifo-queue';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { faaRow, icaoManufacturerRow, icaoTypeRow, imageRow, without } from './support/rows';

const QUEUE_URL = 'https://sqs.local/000000000000/search.fifo';
const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'docs', 'queue-message.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
const logger = () => new Logger({ serviceName: 'schema-test', logLevel: 'SILENT' });

describe('docs/queue-message.schema.json', () => {
  it('accepts every message typesense-sync sends (upsert and delete hints, every collection)', async () => {
    const queue = new LocalFifoQueue({ queueUrl: QUEUE_URL });
    const handler = createTypesenseHandler({ sqs: queue, queueUrl: QUEUE_URL, logger: logger() });
    await handler(
      streamEvent(
        insertRecord(faaRow('N1')),
        insertRecord(imageRow('N1', 'a\uFFFF')),
        modifyRecord(icaoManufacturerRow('AIRBUS'), without(icaoManufacturerRow('AIRBUS'), 'name')),
        removeRecord(icaoTypeRow('B738')),
      ),
    );
    const bodies = queue.messages().map((m) => JSON.parse(m.body));
    expect(bodies.map((b) => b.hint)).toEqual(['upsert', 'upsert', 'delete', 'delete']);
    for (const body of bodies) expect({ body, errors: validate(body) ? null : validate.errors }).toEqual({ body, errors: null });
  });

  it('accepts every message the tools send (backfill, repair, redrive)', async () => {
    const queue = new LocalFifoQueue({ queueUrl: QUEUE_URL });
    const sender = createSearchTriggerSender({ sqs: queue, queueUrl: QUEUE_URL, logger: logger() });
    const keys = [{ PK: 'AIRCRAFT#REGISTRY#FOREIGN', SK: 'DETAIL#G-ABCD' }, { PK: 'ICAO#MANUFACTURERS', SK: 'MFR#BOEING' }];
    for (const kind of ['backfill', 'repair', 'redrive'] as const) await sender.reconcile(toolTriggers(keys, kind, `${kind}-1`));
    const bodies = queue.messages().map((m) => JSON.parse(m.body));
    expect(bodies).toHaveLength(6);
    for (const body of bodies) expect({ body, errors: validate(body) ? null : validate.errors }).toEqual({ body, errors: null });
  });

  const valid = { v: 2, collection: 'registry', id: 'faa.N1', key: { pk: 'AIRCRAFT#REGISTRY#FAA', sk: 'DETAIL#N1' }, hint: 'upsert', origin: { kind: 'backfill', run: 'b' } };
  it.each([
    ['version 1 with a document', { v: 1, action: 'upsert', collection: 'registry', id: 'faa.N1', document: { id: 'faa.N1' }, source: {} }],
    ['an unknown hint', { ...valid, hint: 'patch' }],
    ['a stream origin without eventID', { ...valid, origin: { kind: 'stream', sequenceNumber: '1', approximateCreationDateTime: null } }],
    ['a tool origin without run', { ...valid, origin: { kind: 'repair' } }],
    ['a document inside the message', { ...valid, document: { id: 'faa.N1' } }],
    ['an unknown collection', { ...valid, collection: 'icao_variants' }],
  ])('rejects %s', (_what, body) => {
    expect(validate(valid)).toBe(true);
    expect(validate(body)).toBe(false);
  });
});
