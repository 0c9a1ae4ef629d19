/**
 * domain-events end to end on one machine: writes on DynamoDB Local, its stream through the
 * event-source-mapping emulator (the stack's filters and settings), the real handler and SDK
 * client against the PutEvents stand-in (startDomainEventsLocal, as `npm start` wires it).
 * I6 after drain, also with redelivered batches and entries EventBridge keeps refusing.
 */
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { decodeRecord, type StreamChange } from '../../lambda/shared/decode';
import { rowKindOf } from '../../lambda/shared/row-kinds';
import { generateDataset } from '../../local/dataset';
import { EsmEmulator, type InvocationCall } from '../../local/esm-emulator';
import { formatDomainEventsReport, startDomainEventsLocal, type DomainEventsLocal } from '../../local/eventbridge/domain-events-local';
import { applyChange, loadRows } from '../../local/table-io';
import { auditEvents } from '../../ops/invariants-events';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { faaRow, schemaErrors } from './support';

let table: TestTable;
let local: DomainEventsLocal;
let emulator: EsmEmulator;
let delivered: StreamChange[];

/** Starts the mapping; `invoke` may replace the invocation (fault injection). */
async function start(invoke?: (call: InvocationCall) => Promise<unknown>, settings?: Parameters<typeof startDomainEventsLocal>[0]['settings']) {
  table = await createTestTable('domain-events');
  local = await startDomainEventsLocal({ tableName: table.tableName, sleep: async () => undefined, logLevel: 'SILENT', ...(settings && { settings }) });
  delivered = [];
  emulator = EsmEmulator.forEndpoint(table.endpoint, {
    tableName: table.tableName,
    mappings: [local.mapping],
    pollIntervalMs: 20,
    log: () => undefined,
    invoke: async (call) => {
      // What the mapping handed the function (after its filters): I6's "delivered changes".
      for (const record of call.event.Records as DynamoDBRecord[]) delivered.push(decodeRecord(record));
      return invoke ? invoke(call) : call.handler(call.event, call.context);
    },
  });
  await emulator.start();
}

afterEach(async () => {
  await emulator.stop();
  await local.stop();
  await table.drop();
});

const published = () => local.eventBridge.events().map((e) => ({ detailType: e['detail-type'], detail: e.detail as { eventID: string; keys: { PK: string; SK: string } } }));

describe('domain-events on DynamoDB Local', () => {
  it('every change of an entity produces its event (I6), nothing else does, and every detail is valid', async () => {
    await start();
    const dataset = generateDataset({ seed: 7, registrations: 12 });
    await loadRows(table.doc, table.tableName, dataset.rows);
    for (const change of dataset.changes) await applyChange(table.doc, table.tableName, change);
    await emulator.drain({ timeoutMs: 60_000 });

    const audit = auditEvents(delivered, published());
    expect(audit.findings).toEqual([]);
    expect(audit.checked.changes).toBeGreaterThan(dataset.rows.length * 0.5);
    expect(audit.checked.duplicates).toBe(0);
    // Derived rows (default-image pointers, matcher tuples) are not source rows: the filters and the exact rule keep them out.
    expect(delivered.every((c) => rowKindOf(c.keys) !== undefined)).toBe(true);
    // Updates of attributes outside the entity (the dataset's last_action_date) are delivered but make no event.
    const outside = dataset.changes.filter((c) => c.kind === 'update' && !c.remove && Object.keys(c.set).every((name) => !rowKindOf(c.key)!.attributes.includes(name))).length;
    expect(outside).toBeGreaterThan(0);
    expect(new Set(delivered.map((c) => c.eventID)).size - audit.checked.changes).toBe(outside);
    for (const e of local.eventBridge.events()) expect(schemaErrors(e.detail)).toBeNull();
    const report = local.report();
    expect(report).toMatchObject({ events: audit.checked.changes, distinctChanges: audit.checked.changes, failedEntries: 0, references: 0 });
    // Bulk load batches well: far fewer calls than events.
    expect(report.putEventsCalls).toBeLessThan(report.events / 5);
    expect(formatDomainEventsReport(report)[0]).toMatch(/^Domain events: \d+ published for \d+ changes in \d+ PutEvents calls .* local EventBridge stand-in$/);
    // The wiring's own record of what was delivered gives the same I6 result, and the report says so.
    expect(local.audit()).toEqual(audit);
    expect(formatDomainEventsReport(report)).toContainEqual(`  I6 holds: each of ${audit.checked.changes} delivered changes of an entity has its event (0 duplicates), no event without a change`);
  });

  it('a batch whose invocation failed after publishing is delivered again: the same eventIDs again, I6 still holds', async () => {
    let failed = 0;
    await start(async (call) => {
      const response = await call.handler(call.event, call.context);
      if (failed === 0) {
        failed += 1;
        throw new Error('injected: the function timed out after its PutEvents calls');
      }
      return response;
    });
    for (let i = 0; i < 5; i++) await table.doc.send(new PutCommand({ TableName: table.tableName, Item: faaRow(`N${i}`) }));
    await emulator.drain({ timeoutMs: 60_000 });
    const audit = auditEvents(delivered, published());
    expect(audit.findings).toEqual([]);
    expect(audit.checked.changes).toBe(5);
    expect(audit.checked.duplicates).toBeGreaterThan(0);
    expect(emulator.counters()['domain-events']!.functionErrors).toBe(1);
  });

  it('an entry EventBridge refuses beyond the handler\'s retries fails its record; the mapping retries it and nothing is skipped or reordered', async () => {
    await start();
    const key = { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N7' };
    // Six refusals: more than one invocation's four attempts, fewer than two invocations'.
    const remove = local.eventBridge.failEntries({ match: ({ detail }) => (detail.keys as { SK: string }).SK === key.SK, code: 'InternalFailure', times: 6 });
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: faaRow('N7') }));
    await table.doc.send(new UpdateCommand({ TableName: table.tableName, Key: key, UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': 'R' } }));
    await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: key }));
    await emulator.drain({ timeoutMs: 60_000 });
    remove();
    expect(auditEvents(delivered, published()).findings).toEqual([]);
    expect(local.eventBridge.events().map((e) => e['detail-type'])).toEqual(['registration.created', 'registration.updated', 'registration.deleted']);
    expect(emulator.counters()['domain-events']!.partialFailures + emulator.counters()['domain-events']!.functionErrors).toBeGreaterThan(0);
    expect(local.report().failedEntries).toBe(6);
    expect(local.audit().findings).toEqual([]);
    expect(local.verboseLines()).toEqual([
      expect.stringMatching(/^\[event\] registration\.created AIRCRAFT#REGISTRY#FAA DETAIL#N7 eventID=\S+ changed=\S+$/),
      expect.stringMatching(/^\[event\] registration\.updated .* changed=status$/),
      expect.stringMatching(/^\[event\] registration\.deleted /),
    ]);
    expect(local.verboseLines()).toEqual([]);
  });

  it('a change whose event never got out (the mapping gave up on it) is an I6 finding, named in the report', async () => {
    await start(undefined, { retryAttempts: 1, bisectBatchOnError: false });
    local.eventBridge.failEntries({ match: ({ detail }) => (detail.keys as { SK: string }).SK === 'DETAIL#N9', code: 'InternalFailure', times: Infinity });
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: faaRow('N9') }));
    await emulator.drain({ timeoutMs: 60_000 });
    expect(emulator.dlq('domain-events')).toHaveLength(1);
    const { findings } = local.audit();
    expect(findings).toEqual([expect.objectContaining({ invariant: 'I6', where: expect.stringContaining('SK=DETAIL#N9'), problem: 'delivered change produced no registration.created event' })]);
    expect(formatDomainEventsReport(local.report())).toContainEqual('  I6: 1 finding(s)');
  });

  it('points the real SDK client at the stand-in through AWS_ENDPOINT_URL_EVENTBRIDGE', async () => {
    await start();
    expect(process.env.AWS_ENDPOINT_URL_EVENTBRIDGE).toBe(local.eventBridge.url);
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: faaRow('N1') }));
    await emulator.drain({ timeoutMs: 60_000 });
    expect(local.eventBridge.events()).toHaveLength(1);
  });
});
