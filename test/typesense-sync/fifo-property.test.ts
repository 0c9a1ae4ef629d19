import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import * as fc from 'fast-check';
import type { StreamChange } from '../../lambda/shared/decode';
import { ChangeFailedError } from '../../lambda/shared/errors';
import { streamTrigger } from '../../lambda/shared/trigger';
import { createStreamHandler, type Subsystem } from '../../lambda/shared/runner';
import { planAction } from '../../lambda/typesense-sync/diff';
import { createTypesenseHandler } from '../../lambda/typesense-sync/handler';
import { deduplicationId, messageGroupId } from '../../lambda/typesense-sync/ids';
import { outgoingMessage, planCalls, SQS_MAX_BATCH_BYTES, type OutgoingMessage, type QueueMessage } from '../../lambda/typesense-sync/messages';
import { DEFAULT_RETRY_POLICY, sendCalls, type SqsSender } from '../../lambda/typesense-sync/queue';
import { matchIndexedSpec } from '../../lambda/typesense-sync/specs';
import { applyMessage, drainInto, FifoQueueModel, indexView, type CallFault, type SearchIndex } from './support/fifo-queue';
import { faaRow, foreignRow, icaoManufacturerRow, icaoTypeRow, imageRow, variantRow } from './support/rows';
import { runMapping, TableModel, type InvocationFault, type Row } from './support/stream-model';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/typesense.fifo';
const silentLogger = () => new Logger({ serviceName: 'typesense-sync-property', logLevel: 'SILENT' });

function ourHandler(queue: FifoQueueModel, maxAttempts = 3) {
  return createTypesenseHandler({
    sqs: queue,
    queueUrl: QUEUE_URL,
    logger: silentLogger(),
    retry: { maxAttempts, sleep: async (ms) => queue.advance(ms), random: () => 0.5 },
  });
}

// ---- Random writes to a few documents ---------------------------------------------

/** Each key's row in one of a few states; `variant` picks indexed values, `noise` a non-indexed one. */
interface RowState {
  readonly variant: number;
  readonly incomplete: boolean;
  readonly noise: number;
}

const KEYS: readonly ((s: RowState) => Row)[] = [
  // Two registry rows sharing a registration: FAA and FOREIGN must stay distinct documents.
  (s) => faaRow('N1', { model: `M${s.variant}`, last_seen: s.noise, ...(s.incomplete && { manufacturer: '' }) }),
  (s) => foreignRow('N1', { model: `M${s.variant}`, last_seen: s.noise, ...(s.incomplete && { registration: undefined }) }),
  (s) => faaRow('N2', { year_manufactured: 1990 + s.variant, last_seen: s.noise, ...(s.incomplete && { model: undefined }) }),
  (s) => imageRow('N1', '2026-01-01T00:00:00Z#a', { caption: `c${s.variant}`, views: s.noise, ...(s.incomplete && { url: undefined }) }),
  (s) => icaoTypeRow('B738', { engine_count: s.variant, notes: s.noise, ...(s.incomplete && { model: undefined }) }),
  (s) => icaoManufacturerRow('BOEING', { country: `C${s.variant}`, notes: s.noise, ...(s.incomplete && { name: undefined }) }),
  // Delivered by nobody in production; the handler must never send them even if they arrive.
  (s) => variantRow({ name: `v${s.variant}`, notes: s.noise }),
  (s) => ({ ...faaRow('N3', { model: `M${s.variant}` }), SK: 'DETAIL#lower-case' }),
];

const clean = (row: Row): Row => Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)) as Row;

type Write = { readonly kind: 'put'; readonly key: number; readonly state: RowState } | { readonly kind: 'delete'; readonly key: number };

const writeArb: fc.Arbitrary<Write> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      key: fc.nat(KEYS.length - 1),
      state: fc.record({ variant: fc.nat(2), incomplete: fc.integer({ min: 0, max: 3 }).map((n) => n === 0), noise: fc.nat(2) }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat(KEYS.length - 1) }) },
);

function tableFrom(writes: readonly Write[]): TableModel {
  const table = new TableModel();
  for (const write of writes) {
    const row = clean(KEYS[write.key]!({ variant: 0, incomplete: false, noise: 0, ...(write.kind === 'put' ? write.state : {}) }));
    if (write.kind === 'put') table.put(row);
    else table.delete(row);
  }
  return table;
}

// ---- Faults -----------------------------------------------------------------------

const callFaultArb: fc.Arbitrary<CallFault> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' } as const) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('throw-before' as const),
      name: fc.constantFrom('ThrottlingException', 'ServiceUnavailable', 'AccessDenied'),
      retryable: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'throw-after' } as const) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('fail-entries' as const),
      indexes: fc.uniqueArray(fc.nat(9), { minLength: 1, maxLength: 4 }),
      senderFault: fc.boolean(),
      code: fc.constantFrom('InternalError', 'ThrottlingException', 'InvalidParameterValue'),
    }),
  },
);

const invocationFaultArb: fc.Arbitrary<InvocationFault> = fc.record({
  // Mostly seconds apart; sometimes past the 5-minute deduplication window.
  advanceMs: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 5_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 250_000, max: 400_000 }) }),
  lostResponse: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  bisect: fc.boolean(),
});

interface Scenario {
  readonly writes: readonly Write[];
  readonly batchSize: number;
  readonly callFaults: readonly CallFault[];
  readonly invocationFaults: readonly InvocationFault[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  writes: fc.array(writeArb, { minLength: 1, maxLength: 40 }),
  batchSize: fc.integer({ min: 1, max: 12 }),
  callFaults: fc.array(callFaultArb, { maxLength: 30 }),
  invocationFaults: fc.array(invocationFaultArb, { maxLength: 30 }),
});

/**
 * Runs the mapping while an indexer consumes the queue after every invocation, reading each
 * row as it was when the mapping had read up to that point (later writes had not happened
 * yet): a trigger the handler failed to send, or skipped wrongly, leaves the index stale.
 */
async function runScenario(scenario: Scenario, makeHandler: (queue: FifoQueueModel) => ReturnType<typeof ourHandler>) {
  const table = tableFrom(scenario.writes);
  const queue = new FifoQueueModel(scenario.callFaults);
  const position = new Map(table.records.map((r, i) => [r.dynamodb!.SequenceNumber!, i]));
  const index: SearchIndex = new Map();
  const inner = makeHandler(queue);
  let readUpTo = -1;
  let consumed = 0;
  const handler = async (event: DynamoDBStreamEvent) => {
    for (const r of event.Records) readUpTo = Math.max(readUpTo, position.get(r.dynamodb!.SequenceNumber!)!);
    try {
      return await inner(event);
    } finally {
      const asOf = readUpTo;
      for (; consumed < queue.accepted.length; consumed += 1) applyMessage(index, JSON.parse(queue.accepted[consumed]!.body) as QueueMessage, (k) => table.rowAt(asOf, k));
    }
  };
  await runMapping(table.records, handler, {
    batchSize: scenario.batchSize,
    faults: scenario.invocationFaults,
    advance: (ms) => queue.advance(ms),
  });
  return { table, queue, index: indexView(index), expected: indexView(table.projection()) };
}

// ---- I1 property ------------------------------------------------------------------

describe('I1 through a FIFO queue model (group order, 5-minute dedup), faults, redeliveries and bisected retries', () => {
  it('the index, consumed as the mapping goes, equals the projection of the final rows', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const { queue, index, expected } = await runScenario(scenario, ourHandler);
        expect(queue.violations).toEqual([]);
        expect(index).toEqual(expected);
        for (const message of queue.accepted) {
          const body = JSON.parse(message.body) as QueueMessage;
          expect(body.key.pk).not.toBe('ICAO#VARIANTS');
          expect(message.groupId).toBe(messageGroupId(body.collection, body.id));
          expect(message.deduplicationId).toBe(deduplicationId(body.origin, body.collection, body.id));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the scenarios do exercise the model: faults, duplicates dropped by the window, copies after it', async () => {
    // Guards against a vacuous property: over many scenarios the interesting paths all happen.
    let deduplicated = 0;
    let faultsHit = 0;
    let copiesAfterWindow = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const { queue } = await runScenario(scenario, ourHandler);
        const sent = queue.callSizes.reduce((a, b) => a + b, 0);
        deduplicated += sent - queue.accepted.length;
        faultsHit += Math.min(queue.calls, scenario.callFaults.filter((f) => f.kind !== 'none').length);
        const seen = new Set<string>();
        for (const m of queue.accepted) {
          if (seen.has(m.deduplicationId)) copiesAfterWindow += 1;
          seen.add(m.deduplicationId);
        }
      }),
      { numRuns: 150, seed: 42 },
    );
    expect(faultsHit).toBeGreaterThan(0);
    expect(deduplicated).toBeGreaterThan(0);
    expect(copiesAfterWindow).toBeGreaterThan(0);
  });
});

// ---- The two traps of DESIGN §8, each against a naive sender that falls into it ----

/** Sends with the given pre-planned calls; maps the earliest failed entry to its record. */
function naiveSubsystem(queue: SqsSender, plan: (changes: readonly StreamChange[]) => OutgoingMessage[][]): Subsystem {
  return {
    name: 'naive',
    owns: (keys) => matchIndexedSpec(keys) !== undefined,
    apply: (changes) => sendCalls(queue, QUEUE_URL, plan(changes), { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 }),
  };
}

const messagesOf = (changes: readonly StreamChange[]): OutgoingMessage[] =>
  changes.flatMap((change, position) => {
    const plan = planAction(change);
    if (plan.action === 'none') return [];
    const { key, origin } = streamTrigger(change);
    return [outgoingMessage({ collection: plan.collection, id: plan.id, key, hint: plan.hint, origin }, position)];
  });

describe('DESIGN §8 trap 1: coalescing records of one document + dedup + bisect-on-error', () => {
  // Batch: A inserted, B inserted, A removed. The entry of B fails once; the batch is
  // bisected on the retry. Final rows: only B.
  const scenario = () => {
    const table = new TableModel();
    table.put(faaRow('A1'));
    table.put(faaRow('B1'));
    table.delete(faaRow('A1'));
    return table;
  };
  const bFails = (groupOfB: string) => (queue: FifoQueueModel) => {
    const send = queue.send;
    let failed = false;
    return {
      send: async (command: Parameters<FifoQueueModel['send']>[0]) => {
        const entries = command.input.Entries ?? [];
        const index = entries.findIndex((e) => e.MessageGroupId === groupOfB);
        if (!failed && index >= 0) {
          failed = true;
          // Accept the other entries in the real model, fail B's.
          const others = entries.filter((_, i) => i !== index);
          if (others.length > 0) await send(Object.assign(Object.create(Object.getPrototypeOf(command)), { input: { ...command.input, Entries: others } }));
          return {
            Successful: others.map((e) => ({ Id: e.Id!, MessageId: 'm', MD5OfMessageBody: '' })),
            Failed: [{ Id: entries[index]!.Id!, Code: 'InternalError', SenderFault: false, Message: 'injected' }],
            $metadata: { httpStatusCode: 200 },
          };
        }
        return send(command);
      },
    };
  };
  const groupB = messageGroupId('registry', 'faa.B1');
  const retryBisected: InvocationFault[] = [
    { advanceMs: 0, lostResponse: false, bisect: true },
  ];

  // Version 1 (documents in messages) fell into this trap: the removed row stayed indexed.
  // With triggers the indexer reads the row when it runs, so even this sender converges.
  it('v2 removes the trap: even a coalescing sender ends correct, because the indexer reads the row', async () => {
    const table = scenario();
    const queue = new FifoQueueModel();
    const sqs = bFails(groupB)(queue);
    // Naive: one message per document per batch (its last action), deduplicated by the last
    // record; any failed entry fails the whole batch (no position mapping).
    const coalescing: Subsystem = {
      name: 'coalescing',
      owns: (keys) => matchIndexedSpec(keys) !== undefined,
      async apply(changes) {
        const last = new Map<string, OutgoingMessage>();
        for (const m of messagesOf(changes)) last.set(m.groupId, m);
        try {
          await sendCalls(sqs, QUEUE_URL, planCalls([...last.values()]), { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 });
        } catch (error) {
          throw new ChangeFailedError(0, error);
        }
      },
    };
    await runMapping(table.records, createStreamHandler(coalescing, silentLogger()), { batchSize: 3, faults: retryBisected, advance: (ms) => queue.advance(ms) });
    expect(indexView(drainInto(queue, (k) => table.row(k)))).toEqual(indexView(table.projection()));
    expect(indexView(drainInto(queue, (k) => table.row(k))).registry).not.toHaveProperty(['faa.A1']);
  });

  it('our handler (one message per record, dedup id per record) ends correct on the same faults', async () => {
    const table = scenario();
    const queue = new FifoQueueModel();
    const sqs = bFails(groupB)(queue);
    const handler = createTypesenseHandler({ sqs, queueUrl: QUEUE_URL, logger: silentLogger(), retry: { maxAttempts: 1, sleep: async () => {} } });
    await runMapping(table.records, handler, { batchSize: 3, faults: retryBisected, advance: (ms) => queue.advance(ms) });
    expect(indexView(drainInto(queue, (k) => table.row(k)))).toEqual(indexView(table.projection()));
    expect(indexView(drainInto(queue, (k) => table.row(k)))).toEqual({ registry: { 'faa.B1': expect.objectContaining({ registration: 'B1' }) } });
  });
});

describe('DESIGN §8 trap 2: a SendMessageBatch with two entries of one group where the first fails', () => {
  const scenario = () => {
    const table = new TableModel();
    table.put(faaRow('A1', { model: 'v1' }));
    table.put(faaRow('A1', { model: 'v2' }));
    return table;
  };
  const firstEntryFails: CallFault[] = [{ kind: 'fail-entries', indexes: [0], senderFault: false, code: 'InternalError' }];

  // Version 1 left v1 indexed here; a trigger names the row, and the row holds v2.
  it('v2 removes the trap: a sender that puts both in one call still ends with the newest version', async () => {
    const table = scenario();
    const queue = new FifoQueueModel(firstEntryFails);
    const chunksOf10 = (changes: readonly StreamChange[]) => {
      const all = messagesOf(changes);
      const out: OutgoingMessage[][] = [];
      for (let i = 0; i < all.length; i += 10) out.push(all.slice(i, i + 10));
      return out;
    };
    const handler = createStreamHandler(naiveSubsystem(queue, chunksOf10), silentLogger());
    await runMapping(table.records, handler, { batchSize: 10, advance: (ms) => queue.advance(ms) });
    expect(queue.callSizes[0]).toBe(2);
    expect(indexView(drainInto(queue, (k) => table.row(k))).registry?.['faa.A1']).toEqual(expect.objectContaining({ model: 'v2' }));
  });

  it('our handler never puts them in one call and ends with the newest version', async () => {
    const table = scenario();
    const queue = new FifoQueueModel(firstEntryFails);
    await runMapping(table.records, ourHandler(queue, 1), { batchSize: 10, advance: (ms) => queue.advance(ms) });
    expect(queue.callSizes.every((n) => n === 1)).toBe(true);
    expect(indexView(drainInto(queue, (k) => table.row(k))).registry?.['faa.A1']).toEqual(expect.objectContaining({ model: 'v2' }));
    expect(indexView(drainInto(queue, (k) => table.row(k)))).toEqual(indexView(table.projection()));
  });
});

// ---- planCalls, pure ----------------------------------------------------------------

describe('planCalls (pure)', () => {
  it('keeps order, ≤ 10 entries and ≤ the byte limit a call, one entry per group a call, calls contiguous', () => {
    const messageArb = fc.record({ group: fc.nat(5), bytes: fc.integer({ min: 1, max: 480_000 }) });
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 60 }), (specs) => {
        const messages: OutgoingMessage[] = specs.map((s, position) => ({
          position,
          ref: {},
          collection: 'c',
          id: `g${s.group}`,
          groupId: `c:g${s.group}`,
          deduplicationId: `d${position}`,
          body: '',
          bytes: s.bytes,
        }));
        const calls = planCalls(messages);
        expect(calls.flat().map((m) => m.position)).toEqual(messages.map((m) => m.position));
        for (const call of calls) {
          expect(call.length).toBeGreaterThan(0);
          expect(call.length).toBeLessThanOrEqual(10);
          expect(new Set(call.map((m) => m.groupId)).size).toBe(call.length);
          expect(call.reduce((n, m) => n + m.bytes, 0)).toBeLessThanOrEqual(SQS_MAX_BATCH_BYTES);
        }
        // Greedy: a call is cut only when the next message could not join it.
        for (let i = 0; i + 1 < calls.length; i += 1) {
          const call = calls[i]!;
          const next = calls[i + 1]![0]!;
          const bytes = call.reduce((n, m) => n + m.bytes, 0);
          expect(call.length === 10 || call.some((m) => m.groupId === next.groupId) || bytes + next.bytes > SQS_MAX_BATCH_BYTES).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
