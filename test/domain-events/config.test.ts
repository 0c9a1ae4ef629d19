/**
 * The Lambda entry (lambda/domain-events/index.ts) as deployed: configuration from the
 * environment checked at init, the SDK client taking its endpoint from AWS_ENDPOINT_URL_EVENTBRIDGE.
 */
import { configFromEnv } from '../../lambda/domain-events/config';
import { LOCAL_BUS_NAME, startLocalEventBridge } from '../../local/eventbridge/server';
import { insertRecord, streamEvent } from '../support/events';
import { faaRow } from './support';

const base = { EVENT_BUS_NAME: 'bus', TABLE_NAME: 'table' };

describe('configFromEnv', () => {
  it('has defaults: source stream-fanout, every row kind, no personal attributes, PutEvents\' size limit', () => {
    expect(configFromEnv(base)).toEqual({
      eventBusName: 'bus',
      tableName: 'table',
      source: 'stream-fanout',
      rowKinds: ['faa-registration', 'foreign-registration', 'aircraft-image', 'icao-aircraft-type', 'icao-manufacturer', 'icao-variant', 'faa-link'],
      includeSensitive: false,
      maxRequestBytes: 1_000_000,
    });
    expect(configFromEnv({ ...base, EVENT_SOURCE: 'team.aircraft', EVENT_ROW_KINDS: 'faa-link, aircraft-image', EVENTS_INCLUDE_SENSITIVE: 'true', EVENTS_MAX_REQUEST_BYTES: '262144' })).toMatchObject({
      source: 'team.aircraft',
      rowKinds: ['faa-link', 'aircraft-image'],
      includeSensitive: true,
      maxRequestBytes: 262_144,
    });
  });

  it.each([
    [{ TABLE_NAME: 't' }, /Missing required environment variable EVENT_BUS_NAME/],
    [{ EVENT_BUS_NAME: 'b' }, /Missing required environment variable TABLE_NAME/],
    [{ ...base, EVENT_SOURCE: 'aws.dynamodb' }, /^EVENT_SOURCE: .*reserves for AWS services/],
    [{ ...base, EVENT_ROW_KINDS: 'registration' }, /^EVENT_ROW_KINDS: unknown row kind "registration"/],
    [{ ...base, EVENTS_INCLUDE_SENSITIVE: 'yes' }, /^EVENTS_INCLUDE_SENSITIVE must be true or false/],
    [{ ...base, EVENTS_MAX_REQUEST_BYTES: '2000000' }, /^EVENTS_MAX_REQUEST_BYTES: .*from 8192 to 1000000 bytes, got 2000000/],
  ])('a bad environment fails at init naming the variable (%#)', (env, message) => {
    expect(() => configFromEnv(env)).toThrow(message);
  });
});

describe('lambda/domain-events/index.ts', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('fails at init when EVENT_BUS_NAME is missing', () => {
    process.env = { ...saved, TABLE_NAME: 't' };
    delete process.env.EVENT_BUS_NAME;
    jest.isolateModules(() => {
      expect(() => require('../../lambda/domain-events/index')).toThrow('Missing required environment variable EVENT_BUS_NAME');
    });
  });

  it('publishes through the SDK client pointed at an endpoint by AWS_ENDPOINT_URL_EVENTBRIDGE', async () => {
    const bridge = await startLocalEventBridge();
    try {
      process.env = {
        ...saved,
        EVENT_BUS_NAME: bridge.busArn(LOCAL_BUS_NAME),
        TABLE_NAME: 'stream-fanout-table',
        AWS_ENDPOINT_URL_EVENTBRIDGE: bridge.url,
        AWS_REGION: bridge.region,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      };
      let handler: (event: unknown) => Promise<unknown> = async () => undefined;
      jest.isolateModules(() => {
        ({ handler } = require('../../lambda/domain-events/index'));
      });
      const record = insertRecord(faaRow('N1'));
      expect(await handler(streamEvent(record))).toEqual({ batchItemFailures: [] });
      expect(bridge.events().map((e) => [e['detail-type'], e.detail.eventID, e.detail.table, e.bus])).toEqual([['registration.created', record.eventID, 'stream-fanout-table', LOCAL_BUS_NAME]]);
    } finally {
      await bridge.stop();
    }
  });
});
