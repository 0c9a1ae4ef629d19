/**
 * Benchmark: typesense-sync on a bulk batch of 100 distinct documents.
 *
 * Drives the real handler (runner, diff, message building, batching, the SQS adapter)
 * with a fake SQS client that counts calls and accepts every entry, and compares it, in
 * the same run, with a baseline that sends one SendMessage per record. Target:
 * SQS calls per record <= 0.12 (the batched path needs ceil(100 / 10) = 10 calls).
 * Times are reported, never asserted. Run alone: `npx tsx bench/typesense-sync.ts`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageBatchCommand, SendMessageCommand, type SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { performance } from 'node:perf_hooks';
import { applyInOrder, createStreamHandler, type Subsystem } from '../lambda/shared/runner';
import { streamTrigger } from '../lambda/shared/trigger';
import { planAction } from '../lambda/typesense-sync/diff';
import { createTypesenseHandler, SUBSYSTEM_NAME } from '../lambda/typesense-sync/handler';
import { outgoingMessage } from '../lambda/typesense-sync/messages';
import { matchIndexedSpec } from '../lambda/typesense-sync/specs';
import { insertRecord, streamEvent } from '../test/support/events';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/typesense.fifo';
const RECORDS = 100;
const ITERATIONS = 200;
const WARMUP = 30;
/** A round trip to SQS, simulated in a second pass so the effect of fewer calls on throughput shows. */
const SIMULATED_LATENCY_MS = 5;

function bulkEvent(): DynamoDBStreamEvent {
  const records: DynamoDBRecord[] = [];
  for (let i = 0; i < RECORDS; i += 1) {
    const reg = `N${10_000 + i}`;
    records.push(
      insertRecord({
        PK: 'AIRCRAFT#REGISTRY#FAA',
        SK: `DETAIL#${reg}`,
        registration: reg,
        manufacturer: 'CESSNA',
        model: '172S',
        serial_number: `172S${i}`,
        type_designator: 'C172',
        year_manufactured: 1990 + (i % 30),
        owner_name: `OWNER ${i}`,
        city: 'WICHITA',
        state: 'KS',
        country: 'US',
      }),
    );
  }
  return streamEvent(...records);
}

/** A fake SQS client: counts calls, accepts every entry, optionally waits like a round trip. */
function countingSqs(latencyMs: number) {
  const counter = { calls: 0, entries: 0 };
  const wait = () => (latencyMs > 0 ? new Promise((r) => setTimeout(r, latencyMs)) : Promise.resolve());
  const send = async (command: SendMessageBatchCommand | SendMessageCommand): Promise<SendMessageBatchCommandOutput> => {
    counter.calls += 1;
    await wait();
    if (command instanceof SendMessageBatchCommand) {
      const entries = command.input.Entries ?? [];
      counter.entries += entries.length;
      return { Successful: entries.map((e) => ({ Id: e.Id!, MessageId: e.Id!, MD5OfMessageBody: '' })), Failed: [], $metadata: {} };
    }
    counter.entries += 1;
    return { $metadata: {} } as SendMessageBatchCommandOutput;
  };
  return { counter, send };
}

const silentLogger = () => new Logger({ serviceName: 'bench-typesense-sync', logLevel: 'SILENT' });

type Handler = (event: DynamoDBStreamEvent) => Promise<{ batchItemFailures: unknown[] }>;

/** Baseline: the same diff and messages, one SendMessage per record. */
function baselineHandler(sqs: ReturnType<typeof countingSqs>): Handler {
  const subsystem: Subsystem = {
    name: SUBSYSTEM_NAME,
    owns: (keys) => matchIndexedSpec(keys) !== undefined,
    apply: (changes) =>
      applyInOrder(changes, async (change, position) => {
        const plan = planAction(change);
        if (plan.action === 'none') return;
        const { key, origin } = streamTrigger(change);
        const m = outgoingMessage({ collection: plan.collection, id: plan.id, key, hint: plan.hint, origin }, position);
        await sqs.send(
          new SendMessageCommand({ QueueUrl: QUEUE_URL, MessageBody: m.body, MessageGroupId: m.groupId, MessageDeduplicationId: m.deduplicationId }),
        );
      }),
  };
  return createStreamHandler(subsystem, silentLogger());
}

interface Measured {
  callsPerBatch: number;
  entriesPerBatch: number;
  recordsPerSecond: number;
}

/**
 * Runs the handlers on the same event, alternating batch by batch after a warm-up, so
 * JIT and GC effects fall on both alike. Calls are counted on the first (cold) batch.
 */
async function measure(
  handlers: readonly { handler: Handler; counter: { calls: number; entries: number } }[],
  event: DynamoDBStreamEvent,
  iterations: number,
): Promise<Measured[]> {
  const counts = [];
  for (const { handler, counter } of handlers) {
    const first = await handler(event);
    if (first.batchItemFailures.length > 0) throw new Error('benchmark batch failed');
    counts.push({ callsPerBatch: counter.calls, entriesPerBatch: counter.entries });
  }
  for (let i = 0; i < Math.min(WARMUP, iterations); i += 1) for (const { handler } of handlers) await handler(event);
  const elapsed = handlers.map(() => 0);
  for (let i = 0; i < iterations; i += 1) {
    for (const [k, { handler }] of handlers.entries()) {
      const start = performance.now();
      await handler(event);
      elapsed[k]! += performance.now() - start;
    }
  }
  return counts.map((c, k) => ({ ...c, recordsPerSecond: Math.round((RECORDS * iterations) / (elapsed[k]! / 1000)) }));
}

export async function benchTypesenseSync(): Promise<Record<string, number | string>> {
  const event = bulkEvent();
  const run = async (latencyMs: number, iterations: number) => {
    const ours = countingSqs(latencyMs);
    const base = countingSqs(latencyMs);
    const [batched, baseline] = await measure(
      [
        { handler: createTypesenseHandler({ sqs: ours, queueUrl: QUEUE_URL, logger: silentLogger() }) as Handler, counter: ours.counter },
        { handler: baselineHandler(base), counter: base.counter },
      ],
      event,
      iterations,
    );
    return { batched: batched!, baseline: baseline! };
  };
  const cpu = await run(0, ITERATIONS);
  const io = await run(SIMULATED_LATENCY_MS, 3);
  const sqsCallsPerRecord = cpu.batched.callsPerBatch / RECORDS;
  return {
    records: RECORDS,
    sqsCalls: cpu.batched.callsPerBatch,
    messagesSent: cpu.batched.entriesPerBatch,
    sqsCallsPerRecord,
    target: 'sqsCallsPerRecord <= 0.12',
    meetsTarget: sqsCallsPerRecord <= 0.12 ? 'yes' : 'no',
    recordsPerSecond: cpu.batched.recordsPerSecond,
    baselineSqsCalls: cpu.baseline.callsPerBatch,
    baselineSqsCallsPerRecord: cpu.baseline.callsPerBatch / RECORDS,
    baselineRecordsPerSecond: cpu.baseline.recordsPerSecond,
    callReduction: Number((cpu.baseline.callsPerBatch / cpu.batched.callsPerBatch).toFixed(2)),
    simulatedSqsLatencyMs: SIMULATED_LATENCY_MS,
    recordsPerSecondWithLatency: io.batched.recordsPerSecond,
    baselineRecordsPerSecondWithLatency: io.baseline.recordsPerSecond,
  };
}

if (require.main === module) {
  benchTypesenseSync().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
