/**
 * Chaos run: a random workload over every row kind (local/chaos-workload.ts) goes through
 * DynamoDB Local, the emulator and the real handlers while faults are injected
 * (local/chaos-faults.ts: adapter errors before and after a write lands, throttled and failed
 * SQS calls, a handler timing out after part of its side effects, duplicate deliveries,
 * stream records lost; on the indexer, Typesense 503s and resets, timeouts and duplicates;
 * bisected retries and redeliveries follow from them). After draining, a lossy tail of writes
 * guarantees drift and the repair pass (local/chaos-repair.ts, the ops audit --repair path)
 * must remove it. The chaos test asserts I1–I4 on the result; `npm run bench` runs it larger.
 */
import { chaosWorkload } from './chaos-workload';
import { FaultPlan } from './chaos-faults';
import { repairPass } from './chaos-repair';
import { prng } from './dataset';
import { LocalPipeline } from './pipeline';
import { applyChange } from './table-io';
import { startDomainEventsLocal } from './eventbridge/domain-events-local';
import { startAuditTrailLocal } from './audit-trail/audit-trail-local';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SubsystemName } from '../lambda/subsystems';

export { chaosWorkload } from './chaos-workload';
export { FaultPlan, type Fault } from './chaos-faults';

const throttled = () => Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems']);

export interface ChaosOptions {
  readonly endpoint: string;
  readonly operations: number;
  /** Faults on (default true): off gives the baseline for the same workload. */
  readonly faults?: boolean;
  readonly logLevel?: string;
  /** Writes at the end whose stream records every mapping loses (default 40; 0: none), so drift exists before the repair pass. */
  readonly lossyTail?: number;
  /** How changes reach the functions (default dynamodb-streams); kinesis adds duplicates and no per-item order. */
  readonly source?: 'dynamodb-streams' | 'kinesis';
  /** Run the domain-events subsystem too, against the local PutEvents stand-in (I6 is checked after repair). */
  readonly domainEvents?: boolean;
  /** Run the audit trail too, its own DynamoDB requests faulted like the others' (I5 is checked after repair). */
  readonly auditTrail?: boolean;
}

export async function runChaos(seed: number, options: ChaosOptions) {
  const random = prng(seed);
  const faults = new FaultPlan(prng(seed ^ 0xfa17), options.faults ?? true, prng(seed ^ 0x1055));
  const tableName = `chaos-${seed}-${Date.now() % 100_000}`;
  const domainEvents = options.domainEvents ? await startDomainEventsLocal({ tableName, logLevel: options.logLevel ?? 'SILENT', sleep: async () => undefined }) : undefined;
  const auditTrail = options.auditTrail
    ? await startAuditTrailLocal({
        endpoint: options.endpoint,
        keyFile: join(tmpdir(), `chaos-audit-keys-${seed}.json`),
        historyTableName: `${tableName}-history`,
        source: options.source ?? 'dynamodb-streams',
        logLevel: options.logLevel ?? 'SILENT',
        retry: { sleep: async () => undefined },
        instrument: (client) =>
          client.middlewareStack.add(
            (next, context) => async (args) => {
              const subsystem = 'audit-trail' as SubsystemName;
              const fault = faults.fire(subsystem, ['dynamo-before', 'dynamo-fatal']);
              if (fault === 'dynamo-before') throw throttled();
              if (fault === 'dynamo-fatal') throw Object.assign(new Error('injected non-retryable fault'), { name: 'InjectedFault' });
              const result = await next(args);
              if (context.commandName === 'PutItemCommand' && faults.fire(subsystem, ['dynamo-after'])) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
              return result;
            },
            { step: 'initialize', name: 'chaosFaults' },
          ),
      })
    : undefined;
  const pipeline = new LocalPipeline({
    endpoint: options.endpoint,
    tableName,
    ...(options.source && { source: options.source, kinesis: { seed } }),
    extraMappings: [...(domainEvents ? [domainEvents.mapping] : []), ...(auditTrail ? [auditTrail.mapping] : [])],
    // Batches gathered over the stack's 1 s window hold several records per document; 25 per
    // batch (not 100) gives enough invocations for every fault kind to occur.
    settings: { batchSize: 25 },
    pollIntervalMs: 20,
    sleep: async () => undefined,
    // Expected failures are the point here; the assertions read the counters instead of logs.
    logLevel: options.logLevel ?? 'SILENT',
    emulatorLog: () => undefined,
    beforeDynamo: ({ subsystem }) => {
      const fault = faults.fire(subsystem, ['dynamo-before', 'dynamo-fatal']);
      if (fault === 'dynamo-before') throw throttled();
      if (fault === 'dynamo-fatal') throw Object.assign(new Error('injected non-retryable fault'), { name: 'InjectedFault' });
    },
    afterDynamo: ({ subsystem, command }) => {
      // The write landed; the response is lost (a timeout): the handler must not apply it twice.
      if (WRITES.has(command) && faults.fire(subsystem, ['dynamo-after'])) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    },
    queue: {
      failEntry: () => {
        const fault = faults.fire('typesense-sync', ['sqs-entry', 'sqs-entry-fatal']);
        if (fault === 'sqs-entry') return { Code: 'ThrottlingException', Message: 'Rate exceeded', SenderFault: false };
        if (fault === 'sqs-entry-fatal') return { Code: 'InvalidParameterValue', Message: 'injected', SenderFault: true };
        return undefined;
      },
      failRequest: () => (faults.fire('typesense-sync', ['sqs-call']) ? Object.assign(new Error('service unavailable'), { name: 'ServiceUnavailable', $fault: 'server' }) : undefined),
    },
    invoke: async (delivered) => {
      const lost = faults.lose(delivered);
      const call = lost.length === 0 ? delivered : { ...delivered, event: { Records: delivered.event.Records.filter((r) => !lost.includes(r)) } };
      // Every record lost: the handler never runs and the mapping sees a success.
      if (call.event.Records.length === 0) return { batchItemFailures: [] };
      const fault = faults.arm(call);
      if (fault === 'timeout') {
        // Part of the batch takes effect, then the function times out.
        const records = call.event.Records.slice(0, Math.floor(call.event.Records.length / 2));
        if (records.length > 0) await call.handler({ Records: records }, call.context).catch(() => undefined);
        faults.count('timeout');
        throw new Error('Task timed out after 60.00 seconds');
      }
      if (fault === 'duplicate') {
        faults.count('duplicate');
        await call.handler(structuredClone(call.event), call.context).catch(() => undefined);
      }
      return call.handler(call.event, call.context);
    },
    indexerInvoke: async (event, handler) => {
      const fault = faults.armIndexer(event.Records.map((r) => Number(r.attributes.ApproximateReceiveCount)));
      if (fault === 'typesense-503') pipeline.typesense?.failNext(2, 503);
      if (fault === 'typesense-reset') pipeline.typesense?.resetNext(1);
      if (fault === 'indexer-timeout') {
        const records = event.Records.slice(0, Math.floor(event.Records.length / 2));
        if (records.length > 0) await handler({ Records: records }).catch(() => undefined);
        throw new Error('Task timed out after 30.00 seconds');
      }
      if (fault === 'indexer-duplicate') await handler(structuredClone(event)).catch(() => undefined);
      return handler(event);
    },
  });
  await pipeline.start();
  try {
    const workload = chaosWorkload(random, options.operations);
    // One writer: DynamoDB Local's stream drops OldImage from some REMOVE records when
    // several clients write one item at once (seen with 8 writers, no faults injected), and
    // the decoder rightly rejects those. Big batches come from the batching window instead.
    const startedAt = Date.now();
    for (const change of workload) await applyChange(pipeline.doc, pipeline.tableName, change);
    const writtenAt = Date.now();
    await pipeline.drain(600_000);
    const drainedAt = Date.now();
    // The lossy tail: every mapping loses these writes' records, so the repair pass has drift to find.
    faults.loseAll = (options.faults ?? true) && (options.lossyTail ?? 40) > 0;
    for (const change of faults.loseAll ? chaosWorkload(random, options.lossyTail ?? 40) : []) await applyChange(pipeline.doc, pipeline.tableName, change);
    await pipeline.drain(600_000);
    faults.stop();
    const repair = await repairPass(pipeline, `chaos-${seed}`);
    return {
      report: await pipeline.report(),
      faults: faults.injected,
      workload,
      repair,
      ...(domainEvents && { domainEvents: domainEvents.report() }),
      ...(auditTrail && { auditTrail: await auditTrail.report() }),
      ...(pipeline.kinesis && { kinesisDuplicates: pipeline.kinesis.duplicates }),
      seconds: { write: (writtenAt - startedAt) / 1000, drain: (drainedAt - writtenAt) / 1000 },
    };
  } finally {
    await pipeline.stop({ dropTable: true });
    await domainEvents?.stop();
    await auditTrail?.stop({ dropTable: true });
  }
}
