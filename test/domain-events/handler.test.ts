/**
 * The domain-events handler against the EventBridge boundary: the real SDK client and the local
 * PutEvents stand-in (fault hooks), under the shared ordered runner. Batching, partial failures,
 * the record that fails after the retries (nothing later sent), oversize entries, redelivery.
 */
import { EventBridgeClient, type PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { EventsSender } from '../../lambda/domain-events/publisher';
import { LOCAL_BUS_NAME, startLocalEventBridge, type LocalEventBridge } from '../../local/eventbridge/server';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { faaRow, handlerWith, imageRow, recordingMetrics, schemaErrors } from './support';

let bridge: LocalEventBridge;
let client: EventBridgeClient;
beforeEach(async () => {
  bridge = await startLocalEventBridge();
  // maxAttempts 1: the handler's own retries are under test, not the SDK's.
  client = new EventBridgeClient({ endpoint: bridge.url, region: bridge.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
});
afterEach(async () => {
  client.destroy();
  await bridge.stop();
});

const handler = (overrides: Parameters<typeof handlerWith>[1] = {}) => handlerWith(client, { eventBusName: LOCAL_BUS_NAME, ...overrides });
const inserts = (n: number) => Array.from({ length: n }, (_, i) => insertRecord(faaRow(`N${i + 1}`)));
const published = () => bridge.events().map((e) => e.detail.eventID as string);
const ids = (records: readonly DynamoDBRecord[]) => records.map((r) => r.eventID!);
const failedFrom = (response: DynamoDBBatchResponse | undefined) => response?.batchItemFailures.map((f) => f.itemIdentifier) ?? [];
const seq = (records: readonly DynamoDBRecord[]) => records.map((r) => r.dynamodb!.SequenceNumber!);

describe('domain-events handler', () => {
  it('publishes one event per change in calls of at most 10 entries, in order, each detail valid', async () => {
    const records = inserts(25);
    const response = await handler()(streamEvent(...records));
    expect(failedFrom(response)).toEqual([]);
    expect(bridge.requests().map((r) => r.entries)).toEqual([10, 10, 5]);
    expect(published()).toEqual(ids(records));
    for (const e of bridge.events()) {
      expect(e['detail-type']).toBe('registration.created');
      expect(e.source).toBe('stream-fanout');
      expect(schemaErrors(e.detail)).toBeNull();
    }
  });

  it('a failed entry is retried alone (FailedEntryCount) and the batch succeeds', async () => {
    const records = inserts(12);
    bridge.failEntries({ match: ({ detail }) => detail.eventID === records[3]!.eventID, code: 'ThrottlingException', times: 2 });
    const response = await handler()(streamEvent(...records));
    expect(failedFrom(response)).toEqual([]);
    expect(bridge.requests().map((r) => [r.entries, r.failed])).toEqual([[10, 1], [1, 1], [1, 0], [2, 0]]);
    expect(new Set(published())).toEqual(new Set(ids(records)));
    expect(published()).toHaveLength(12); // nothing sent twice: only the failed entry went again
  });

  it('an entry that keeps failing fails its record after the retries; nothing later in the batch is sent', async () => {
    const records = inserts(25);
    const poison = records[13]!;
    bridge.failEntries({ match: ({ detail }) => detail.eventID === poison.eventID, code: 'InternalFailure', times: Infinity });
    const response = await handler({ retry: { maxAttempts: 3, sleep: async () => undefined } })(streamEvent(...records));
    // Lambda resumes at the poison record: it and everything after it are reported.
    expect(failedFrom(response)).toEqual(seq(records.slice(13)));
    // Call 2 (records 10-19) was answered; its one failed entry tried 3 times; call 3 (20-24) never made.
    expect(bridge.requests().map((r) => [r.entries, r.failed])).toEqual([[10, 0], [10, 1], [1, 1], [1, 1]]);
    expect(published()).toEqual(ids([...records.slice(0, 13), ...records.slice(14, 20)]));
  });

  it('an entry EventBridge refuses for good (not retryable) fails its record at once', async () => {
    const records = inserts(3);
    bridge.failEntries({ match: ({ detail }) => detail.eventID === records[1]!.eventID, code: 'NotAuthorizedForDetailTypeException', times: Infinity });
    const response = await handler()(streamEvent(...records));
    expect(failedFrom(response)).toEqual(seq(records.slice(1)));
    expect(bridge.requests()).toHaveLength(1);
  });

  it('a call that throws (throttled, 5xx) is retried whole; a validation error is not', async () => {
    bridge.throttleNext(1);
    bridge.failNext(1, 500, 'InternalException');
    const records = inserts(3);
    expect(failedFrom(await handler()(streamEvent(...records)))).toEqual([]);
    expect(bridge.requests().map((r) => r.error ?? 'ok')).toEqual(['ThrottlingException', 'InternalException', 'ok']);
    expect(published()).toEqual(ids(records));

    bridge.clear();
    bridge.failNext(1, 400, 'ValidationException');
    // Every record failed: the runner throws, so bisect-on-error can split the batch.
    await expect(handler()(streamEvent(...inserts(2)))).rejects.toThrow(/All records failed.*PutEvents failed \(attempt 1 of 4\): ValidationException/);
    expect(bridge.requests()).toHaveLength(1);
  });

  it('an entry over the size limit is sent with a reference instead of its state, in the same calls as the others', async () => {
    const records = [insertRecord(faaRow('N1')), insertRecord(imageRow('N1', 1, { caption: 'c'.repeat(20_000) })), insertRecord(faaRow('N2'))];
    const response = await handler({ maxRequestBytes: 16_384 })(streamEvent(...records));
    expect(failedFrom(response)).toEqual([]);
    const details = bridge.events().map((e) => e.detail);
    expect(details.map((d) => d.eventID)).toEqual(ids(records));
    expect(details[1]).toMatchObject({ stateOmitted: { reason: 'entry-too-large', limitBytes: 16_384 }, keys: { SK: records[1]!.dynamodb!.Keys!.SK!.S } });
    expect(details[1]).not.toHaveProperty('state');
    expect(details[0]).toHaveProperty('state');
    for (const d of details) expect(schemaErrors(d)).toBeNull();
  });

  it('two changes of one item go in separate calls, in order', async () => {
    const v1 = faaRow('N1');
    const v2 = faaRow('N1', { status: 'R' });
    const records = [insertRecord(v1), insertRecord(faaRow('N2')), modifyRecord(v1, v2), removeRecord(v2)];
    await handler()(streamEvent(...records));
    expect(bridge.requests().map((r) => r.entries)).toEqual([2, 1, 1]);
    expect(bridge.events().map((e) => e['detail-type'])).toEqual(['registration.created', 'registration.created', 'registration.updated', 'registration.deleted']);
  });

  it('items changed several times in a row: one call per change of an item, the items side by side', () => {
    const records = ['N1', 'N2', 'N3', 'N4', 'N5'].flatMap((reg) => [
      insertRecord(faaRow(reg)),
      modifyRecord(faaRow(reg), faaRow(reg, { status: 'R' })),
      modifyRecord(faaRow(reg, { status: 'R' }), faaRow(reg, { status: 'D' })),
      removeRecord(faaRow(reg, { status: 'D' })),
    ]);
    return handler()(streamEvent(...records)).then((response) => {
      expect(failedFrom(response)).toEqual([]);
      expect(bridge.requests().map((r) => r.entries)).toEqual([5, 5, 5, 5]);
      for (const reg of ['N1', 'N2', 'N3', 'N4', 'N5']) {
        const mine = bridge.events().filter((e) => (e.detail.keys as { SK: string }).SK === `DETAIL#${reg}`);
        expect(mine.map((e) => e['detail-type'])).toEqual(['registration.created', 'registration.updated', 'registration.updated', 'registration.deleted']);
      }
    });
  });

  it('when a call fails, the earliest record not yet published fails, also one left for a later call', async () => {
    // N1 twice, then N2: call 1 = [N1 insert, N2 insert], call 2 = [N1 update]. N2 is refused for good.
    const records = [insertRecord(faaRow('N1')), modifyRecord(faaRow('N1'), faaRow('N1', { status: 'R' })), insertRecord(faaRow('N2'))];
    bridge.failEntries({ match: ({ detail }) => detail.eventID === records[2]!.eventID, code: 'InvalidArgument', times: Infinity });
    const response = await handler()(streamEvent(...records));
    // The N1 update (position 1) was never sent: Lambda resumes there, and sends N2 again after it.
    expect(failedFrom(response)).toEqual(seq(records.slice(1)));
    expect(bridge.requests()).toHaveLength(1);
    expect(published()).toEqual(ids(records.slice(0, 1)));
  });

  it('a redelivered batch publishes again with the same detail.eventID (at least once; consumers deduplicate on it)', async () => {
    const records = [insertRecord(faaRow('N1')), modifyRecord(faaRow('N1'), faaRow('N1', { status: 'R' }))];
    const run = handler();
    await run(streamEvent(...records));
    await run(streamEvent(...records));
    const details = bridge.events().map((e) => e.detail);
    expect(details.map((d) => d.eventID)).toEqual([...ids(records), ...ids(records)]);
    expect(details[2]).toEqual(details[0]);
    expect(details[3]).toEqual(details[1]);
  });

  it('an update outside the entity makes no event and no call; rows of no kind are skipped', async () => {
    const records = [modifyRecord(faaRow('N1'), faaRow('N1', { last_action_date: '2026-11-01' })), insertRecord({ PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N1', SK: 'DEFAULT', image_id: 'x' })];
    expect(failedFrom(await handler()(streamEvent(...records)))).toEqual([]);
    expect(bridge.requests()).toHaveLength(0);
  });

  it('a change that cannot be read fails there: the events before it are published first', async () => {
    const records = inserts(4);
    delete records[2]!.dynamodb!.ApproximateCreationDateTime;
    const response = await handler()(streamEvent(...records));
    expect(failedFrom(response)).toEqual(seq(records.slice(2)));
    expect(published()).toEqual(ids(records.slice(0, 2)));
  });

  it('only the configured row kinds make events', async () => {
    const records = [insertRecord(faaRow('N1')), insertRecord(imageRow('N1', 1))];
    await handler({ rowKinds: ['aircraft-image'] })(streamEvent(...records));
    expect(bridge.events().map((e) => e['detail-type'])).toEqual(['aircraft-image.created']);
  });

  it('stops before the function deadline instead of being killed mid-call (the record is retried)', async () => {
    const records = [modifyRecord(faaRow('N0'), faaRow('N0', { last_action_date: 'x' })), ...inserts(3)];
    const response = await handler({ remainingMs: () => 5_000 })(streamEvent(...records));
    expect(failedFrom(response)).toEqual(seq(records.slice(1)));
    expect(bridge.requests()).toHaveLength(0);
  });
});

describe('domain-events metrics', () => {
  const run = (recorded: ReturnType<typeof recordingMetrics>) => handlerWith(client, { eventBusName: LOCAL_BUS_NAME, metrics: recorded.metrics } as never);
  const twoRecords = () => [modifyRecord(faaRow('N0'), faaRow('N0', { last_action_date: 'x' })), ...inserts(1)];

  it('EventsPublished counts accepted entries and EventsFailed refused ones, per invocation', async () => {
    const records = inserts(12);
    bridge.failEntries({ match: ({ detail }) => detail.eventID === records[0]!.eventID, code: 'InternalFailure', times: 1 });
    const recorded = recordingMetrics();
    expect(failedFrom(await run(recorded)(streamEvent(...records)))).toEqual([]);
    expect(recorded.counters).toEqual({ RecordsReceived: 12, RecordsOwned: 12, RecordsSkipped: 0, EventsPublished: 12, EventsFailed: 1 });
    expect(recorded.failures).toEqual({});
  });

  it('an entry refused for good counts Failures `rejected` (what DomainEventsRejectedFailuresAlarm watches)', async () => {
    const records = twoRecords();
    bridge.failEntries({ match: () => true, code: 'NotAuthorizedForDetailTypeException', times: Infinity });
    const recorded = recordingMetrics();
    expect(failedFrom(await run(recorded)(streamEvent(...records)))).toEqual(seq(records.slice(1)));
    expect(recorded.failures).toEqual({ rejected: 1 });
  });

  it('a call refused for good (access denied) counts `fatal`; entries still failing after the retries `throttled`', async () => {
    bridge.failNext(1, 400, 'AccessDeniedException');
    const first = recordingMetrics();
    await run(first)(streamEvent(...twoRecords()));
    expect(first.failures).toEqual({ fatal: 1 });
    bridge.failEntries({ match: () => true, code: 'ThrottlingException', times: Infinity });
    const second = recordingMetrics();
    await run(second)(streamEvent(...twoRecords()));
    expect(second.failures).toEqual({ throttled: 1 });
  });
});

describe('the boundary type', () => {
  it('takes anything with the client\'s send (a wrapper counting calls, here)', async () => {
    let calls = 0;
    const counting: EventsSender = { send: (command: PutEventsCommand) => ((calls += 1), client.send(command)) };
    await handlerWith(counting, { eventBusName: LOCAL_BUS_NAME })(streamEvent(...inserts(11)));
    expect(calls).toBe(2);
  });
});
