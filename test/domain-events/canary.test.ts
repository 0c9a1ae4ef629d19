/**
 * Personal values (registry owner name and address) never leave in an event by default and are
 * never printed: every path of the handler runs at DEBUG with canary values in the rows (clean,
 * refused entries, thrown calls, a record that cannot be read, an oversize entry, a whole batch
 * failing), and no captured output line, error or event may contain one.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { startDomainEventsLocal } from '../../local/eventbridge/domain-events-local';
import { LOCAL_BUS_NAME, startLocalEventBridge, type LocalEventBridge } from '../../local/eventbridge/server';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { CANARY, faaRow, handlerWith } from './support';

const canaries = Object.values(CANARY);

/** Runs `fn` with stdout, stderr and console captured; returns everything written, one string. */
async function captured(fn: () => Promise<unknown>): Promise<string> {
  const out: string[] = [];
  const grab = ((chunk: string | Uint8Array) => (out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')), true)) as typeof process.stdout.write;
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(grab),
    jest.spyOn(process.stderr, 'write').mockImplementation(grab),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation((...args: unknown[]) => void out.push(args.map(String).join(' ')))),
  ];
  try {
    await fn().catch((error: unknown) => out.push(String(error), JSON.stringify(error), (error as Error)?.stack ?? ''));
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return out.join('\n');
}

const changes = (): DynamoDBStreamEvent => {
  const moved = faaRow('N2', { owner_name: `${CANARY.owner}-NEW`, street: `${CANARY.street}-NEW` });
  return streamEvent(
    insertRecord(faaRow('N1')),
    modifyRecord(faaRow('N2'), moved),
    insertRecord(faaRow('N3', { model: 'M'.repeat(20_000) })),
    removeRecord(faaRow('N4')),
  );
};

let bridge: LocalEventBridge;
let client: EventBridgeClient;
beforeEach(async () => {
  bridge = await startLocalEventBridge();
  client = new EventBridgeClient({ endpoint: bridge.url, region: bridge.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
});
afterEach(async () => {
  client.destroy();
  await bridge.stop();
});

const debugHandler = () => handlerWith(client, { eventBusName: LOCAL_BUS_NAME, maxRequestBytes: 16_384, logger: new Logger({ serviceName: 'domain-events', logLevel: 'DEBUG' }) });

describe('canary: personal values are never in an event or an output line', () => {
  it.each([
    ['clean', () => undefined],
    ['refused entries, then accepted', () => void bridge.failEntries({ match: () => true, code: 'InternalFailure', times: 3 })],
    ['entries refused for good', () => void bridge.failEntries({ match: ({ detail }) => (detail.keys as { SK: string }).SK === 'DETAIL#N2', code: 'MalformedDetail', times: Infinity })],
    ['calls throttled, then failing', () => (bridge.throttleNext(1), bridge.failNext(10, 400, 'ValidationException'))],
  ])('%s', async (_name, arrange) => {
    arrange();
    const text = await captured(() => debugHandler()(changes()));
    expect(text.length).toBeGreaterThan(0); // DEBUG lines were written and checked
    for (const canary of canaries) {
      expect(text).not.toContain(canary);
      expect(JSON.stringify(bridge.events())).not.toContain(canary);
    }
  });

  it('a record that cannot be read, and a batch that fails whole', async () => {
    const event = changes();
    delete event.Records[1]!.dynamodb!.OldImage;
    const text = await captured(async () => {
      await debugHandler()(event);
      await debugHandler()(streamEvent(event.Records[1]!));
    });
    expect(text).toMatch(/lacks an image|no OldImage/);
    for (const canary of canaries) expect(text).not.toContain(canary);
  });

  it('the local wiring\'s report and --verbose lines', async () => {
    const local = await startDomainEventsLocal({ tableName: 't', logLevel: 'DEBUG' });
    try {
      const text = await captured(async () => {
        await local.mapping.handler(changes());
        process.stdout.write(`${local.verboseLines().join('\n')}\n${JSON.stringify(local.report())}\n`);
      });
      expect(text).toContain('[event] registration.updated');
      for (const canary of canaries) expect(text).not.toContain(canary);
    } finally {
      await local.stop();
    }
  });

  it('with personal attributes configured in, they reach the bus (so the canary check above can fail)', async () => {
    await handlerWith(client, { eventBusName: LOCAL_BUS_NAME, includeSensitive: true })(changes());
    expect(JSON.stringify(bridge.events())).toContain(CANARY.owner);
  });
});
