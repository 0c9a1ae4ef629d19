/**
 * Per-mapping delivery on one shard: filter newly read records, form batches (size, window),
 * invoke, and follow Lambda's rules on the outcome (esm-batch.ts): commit, retry, bisect,
 * discard to the on-failure destination, and expire by record age.
 */
import { randomUUID } from 'node:crypto';
import { matchesAnyFilter } from '../lambda/shared/key-rules';
import type { Clock } from './clock';
import { expiredPrefix, interpretResponse, nextStep, takeBatch, type FailureCondition, type InvokeOutcome, type PendingBatch } from './esm-batch';
import { lambdaContext } from './esm-failure';
import { shardEnd, type Mapping, type ShardLog } from './esm-mapping';
import type { EmulatorLog, EsmEmulatorOptions, InvocationCall } from './esm-types';

/** What delivery needs from the emulator. */
export interface DeliveryContext {
  readonly clock: Clock;
  readonly log: EmulatorLog;
  readonly options: Pick<EsmEmulatorOptions, 'invoke' | 'retryDelayMs' | 'bisectConsumesRetry'>;
  running(): boolean;
  discard(mapping: Mapping, batch: PendingBatch, condition: FailureCondition): void;
}

const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** Filters newly read records and delivers batches until the shard waits (window, retry delay) or is empty. */
export async function pump(ctx: DeliveryContext, mapping: Mapping, shard: ShardLog): Promise<boolean> {
  const cursor = mapping.cursor(shard.shardId);
  const { counters, settings } = mapping;
  let progressed = false;

  while (cursor.scanned < shardEnd(shard)) {
    const item = shard.items[cursor.scanned - shard.base]!;
    cursor.scanned += 1;
    counters.read += 1;
    progressed = true;
    if (matchesAnyFilter(mapping.config.filterPatterns, item.record) || mapping.config.filterPatterns.length === 0) {
      counters.matched += 1;
      cursor.queue.push(item);
    } else {
      counters.filtered += 1;
      if (cursor.queue.length === 0 && cursor.pending.length === 0) cursor.checkpoint = item.sequenceNumber;
    }
  }

  while (ctx.running()) {
    const now = ctx.clock.now();
    if (cursor.pending.length === 0) {
      const count = takeBatch(cursor.queue, {
        batchSize: settings.batchSize,
        batchingWindowMs: settings.maxBatchingWindowSeconds * 1000,
        nowMs: now,
        shardExhausted: shard.exhausted,
      });
      if (count === 0) break;
      cursor.pending.push({ items: cursor.queue.splice(0, count), retries: 0, invokeCount: 0 });
    }
    if (now < cursor.notBefore) break;
    const batch = cursor.pending[0]!;
    progressed = true;

    const expired = expiredPrefix(batch.items, now, settings.maxRecordAgeSeconds);
    if (expired > 0) {
      ctx.discard(mapping, { ...batch, items: batch.items.slice(0, expired) }, 'RecordAgeExceeded');
      const rest = batch.items.slice(expired);
      if (rest.length > 0) cursor.pending[0] = { ...batch, items: rest };
      else cursor.pending.shift();
      cursor.checkpoint = batch.items[expired - 1]!.sequenceNumber;
      continue;
    }

    const invoked: PendingBatch = { ...batch, invokeCount: batch.invokeCount + 1 };
    const outcome = await invoke(ctx, mapping, shard.shardId, invoked);
    const step = nextStep(invoked, outcome, {
      retryAttempts: settings.retryAttempts,
      bisectBatchOnError: settings.bisectBatchOnError,
      bisectConsumesRetry: ctx.options.bisectConsumesRetry ?? false,
    });
    const commit = (count: number) => {
      counters.committed += count;
      if (count > 0) cursor.checkpoint = invoked.items[count - 1]!.sequenceNumber;
    };
    switch (step.kind) {
      case 'commit':
        commit(step.count);
        cursor.pending.shift();
        break;
      case 'retry':
        commit(step.commit);
        counters.retries += 1;
        cursor.pending[0] = step.batch;
        cursor.notBefore = now + (ctx.options.retryDelayMs?.(step.batch.retries) ?? 0);
        // The retry waits for the next round, as Lambda's goes back through its poller: this
        // keeps drain deadlines and stop() responsive under endless retries.
        return progressed;
      case 'bisect':
        counters.bisects += 1;
        if (ctx.options.bisectConsumesRetry) counters.retries += 1;
        cursor.pending.splice(0, 1, ...step.halves);
        break;
      case 'discard':
        commit(step.commit);
        ctx.discard(mapping, step.batch, 'RetryAttemptsExhausted');
        cursor.checkpoint = invoked.items[invoked.items.length - 1]!.sequenceNumber;
        cursor.pending.shift();
        break;
    }
  }
  return progressed;
}

async function invoke(ctx: DeliveryContext, mapping: Mapping, shardId: string, batch: PendingBatch): Promise<InvokeOutcome> {
  const { counters, config } = mapping;
  const requestId = randomUUID();
  const call: InvocationCall = {
    subsystem: config.name,
    shardId,
    event: { Records: batch.items.map((i) => structuredClone(i.record)) },
    context: lambdaContext(config.name, mapping.functionArn, requestId, ctx.clock),
    attempt: batch.invokeCount,
    retries: batch.retries,
    handler: config.handler,
  };
  counters.invocations += 1;
  counters.delivered += batch.items.length;
  let outcome: InvokeOutcome;
  try {
    const invoke = ctx.options.invoke ?? ((c: InvocationCall) => c.handler(c.event, c.context));
    const response = await invoke(call);
    outcome = interpretResponse(
      batch.items.map((i) => i.sequenceNumber),
      response,
    );
  } catch (error) {
    outcome = { kind: 'failure', error: toError(error), functionError: 'Unhandled' };
  }
  if (outcome.kind === 'partial') counters.partialFailures += 1;
  if (outcome.kind === 'failure') {
    if (outcome.functionError) counters.functionErrors += 1;
    else counters.invalidResponses += 1;
    ctx.log('warn', 'invocation failed', {
      subsystem: config.name,
      shardId,
      records: batch.items.length,
      attempt: batch.invokeCount,
      error: outcome.error.message,
    });
  }
  return outcome;
}
