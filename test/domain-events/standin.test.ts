/**
 * The local EventBridge stand-in answers the real SDK client as EventBridge would, for what the
 * handler relies on: results per entry, FailedEntryCount with HTTP 200, the request limits.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { LOCAL_BUS_NAME, startLocalEventBridge, type LocalEventBridge } from '../../local/eventbridge/server';

let bridge: LocalEventBridge;
let client: EventBridgeClient;

beforeEach(async () => {
  bridge = await startLocalEventBridge({ maxRequestBytes: 10_000 });
  // maxAttempts 1: the SDK's own retries would hide what the stand-in answered.
  client = new EventBridgeClient({ endpoint: bridge.url, region: bridge.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
});
afterEach(async () => {
  client.destroy();
  await bridge.stop();
});

const entry = (n: number, extra: Record<string, unknown> = {}) => ({
  EventBusName: LOCAL_BUS_NAME,
  Source: 'stream-fanout',
  DetailType: 'registration.updated',
  Detail: JSON.stringify({ n, ...extra }),
  Time: new Date(Date.UTC(2026, 0, 1)),
});

describe('local EventBridge stand-in (PutEvents)', () => {
  it('stores accepted events shaped as EventBridge delivers them, with one result per entry', async () => {
    const out = await client.send(new PutEventsCommand({ Entries: [entry(1), { ...entry(2), EventBusName: bridge.busArn() }] }));
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries).toHaveLength(2);
    expect(out.Entries!.every((e) => typeof e.EventId === 'string')).toBe(true);
    expect(bridge.events().map((e) => [e.source, e['detail-type'], e.detail.n, e.time, e.bus])).toEqual([
      ['stream-fanout', 'registration.updated', 1, '2026-01-01T00:00:00Z', LOCAL_BUS_NAME],
      ['stream-fanout', 'registration.updated', 2, '2026-01-01T00:00:00Z', LOCAL_BUS_NAME],
    ]);
  });

  it('refuses more than 10 entries and a request at or over the size limit as a whole (ValidationException, nothing stored)', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => entry(i));
    await expect(client.send(new PutEventsCommand({ Entries: eleven }))).rejects.toMatchObject({ name: 'ValidationException' });
    const big = [entry(1, { pad: 'x'.repeat(6_000) }), entry(2, { pad: 'y'.repeat(6_000) })];
    await expect(client.send(new PutEventsCommand({ Entries: big }))).rejects.toMatchObject({ name: 'ValidationException', message: 'Total size of the entries in the request is over the limit.' });
    expect(bridge.events()).toHaveLength(0);
    expect(bridge.requests().map((r) => r.error)).toEqual(['ValidationException', 'ValidationException']);
  });

  it('fails chosen entries with an ErrorCode and HTTP 200, the others are stored (FailedEntryCount)', async () => {
    bridge.failEntries({ match: ({ detail }) => detail.n === 2, code: 'ThrottlingException', times: 1 });
    const out = await client.send(new PutEventsCommand({ Entries: [entry(1), entry(2), entry(3)] }));
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries![1]).toMatchObject({ ErrorCode: 'ThrottlingException' });
    expect(out.Entries![1]!.EventId).toBeUndefined();
    expect(bridge.events().map((e) => e.detail.n)).toEqual([1, 3]);
    // `times` ran out: the same entry goes through now.
    await client.send(new PutEventsCommand({ Entries: [entry(2)] }));
    expect(bridge.events().map((e) => e.detail.n)).toEqual([1, 3, 2]);
  });

  it('checks entries as EventBridge does: malformed detail, an aws. source, an unknown bus', async () => {
    const out = await client.send(
      new PutEventsCommand({ Entries: [{ ...entry(1), Detail: '[1]' }, { ...entry(2), Source: 'aws.dynamodb' }, { ...entry(3), EventBusName: 'nope' }, entry(4)] }),
    );
    expect(out.Entries!.map((e) => e.ErrorCode ?? 'ok')).toEqual(['MalformedDetail', 'NotAuthorizedForSourceException', 'InvalidArgument', 'ok']);
    expect(out.FailedEntryCount).toBe(3);
  });

  it('throttles or fails whole requests on demand, then recovers', async () => {
    bridge.throttleNext(1);
    await expect(client.send(new PutEventsCommand({ Entries: [entry(1)] }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    bridge.failNext(1, 500, 'InternalException');
    await expect(client.send(new PutEventsCommand({ Entries: [entry(1)] }))).rejects.toMatchObject({ name: 'InternalException', $metadata: { httpStatusCode: 500 } });
    await client.send(new PutEventsCommand({ Entries: [entry(1)] }));
    expect(bridge.events()).toHaveLength(1);
  });
});
