import { BatchProcessor, EventType, FullBatchFailureError, processPartialResponse } from '@aws-lambda-powertools/batch';
import { LogLevelThreshold, type Logger } from '@aws-lambda-powertools/logger';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent, KinesisStreamEvent } from 'aws-lambda';
import { toStreamEvent } from './kinesis-record';
import { decodeRecord, readKeys, type StreamChange } from './decode';
import { ChangeFailedError, describeRecord, StreamRecordError } from './errors';
import type { RowKeys } from './key-rules';
import { batchSummary, logRecord } from './log';
import { failureKindOf, MetricTally } from './metrics';
import { safeError, type SafeError } from './safe-error';
import { streamTrigger, type Reconciler } from './trigger';

/** A subsystem as the runner sees it. */
export interface Subsystem {
  readonly name: string;
  /** The exact ownership rule (regex specs, key checks); the mapping's filter is only coarse. */
  owns(keys: RowKeys): boolean;
  /**
   * Applies owned changes in stream order. Resolves when every change took effect; otherwise
   * throws ChangeFailedError(position) for the earliest change that did not (all before it did).
   * Any other error counts as a failure of the first change.
   */
  apply(changes: readonly StreamChange[]): Promise<void>;
  /** false: the subsystem is level-triggered and reads only the keys (images are not decoded or required). */
  readonly needsImages?: boolean;
}

/**
 * A level-triggered subsystem (docs/architecture.md: level-triggered) as the runner sees it: each owned record is a
 * trigger naming its key; the reconciler reads the truth, so the images are never needed.
 */
export function reconcilerSubsystem(reconciler: Reconciler, owns: (keys: RowKeys) => boolean, tally = new MetricTally()): Subsystem {
  return {
    name: reconciler.name,
    owns,
    needsImages: false,
    apply: async (changes) => {
      const results = await reconciler.reconcile(changes.map(streamTrigger));
      // Keys of a call that failed part-way are not counted here; their retry reconciles them again.
      let noops = 0;
      for (const result of results) if (!result.changed) noops++;
      tally.count('ReconcileNoops', noops);
    },
  };
}

/** For subsystems that handle one change at a time: stops at the first failure. */
export async function applyInOrder(
  changes: readonly StreamChange[],
  applyOne: (change: StreamChange, position: number) => Promise<void>,
): Promise<void> {
  for (const [position, change] of changes.entries()) {
    try {
      await applyOne(change, position);
    } catch (error) {
      throw new ChangeFailedError(position, error);
    }
  }
}

class SkippedAfterFailure extends Error {
  constructor(failed: DynamoDBRecord) {
    super(`not attempted: earlier record ${failed.eventID} in this batch failed`);
    this.name = 'SkippedAfterFailure';
  }
}

/** The stream record as a log line or an error message names it: eventID, PK, SK. */
const refOfRecord = (record: DynamoDBRecord) => ({ eventID: record.eventID, pk: record.dynamodb?.Keys?.PK?.S, sk: record.dynamodb?.Keys?.SK?.S });

/**
 * Every record of the batch failed. Still Powertools' FullBatchFailureError (so bisect-on-error
 * splits the batch), but its message names the first failing record and the reason, and its
 * recordErrors are safe shapes: the Lambda runtime prints a thrown error's properties.
 */
export class BatchFailedError extends FullBatchFailureError {
  constructor(subsystem: string, records: readonly DynamoDBRecord[], recordErrors: SafeError[]) {
    super(recordErrors);
    const first = recordErrors[0];
    this.message =
      `All records failed processing (${records.length} in the batch, ${subsystem}); ` +
      `the first: ${records[0] ? describeRecord(refOfRecord(records[0])) : 'none'}: ${first ? `${first.name}: ${first.message}` : 'no reason recorded'}`;
    this.stack = `${this.name}: ${this.message}`;
  }
}

/**
 * Powertools' BatchProcessor, made ordered and batch-aware: records are decoded and
 * filtered in stream order, owned changes go to the subsystem in one call (so it can
 * batch its I/O), and processing stops at the first failure. That record and every
 * later one are reported, so Lambda resumes exactly there; a batch that failed whole
 * throws BatchFailedError (a Powertools FullBatchFailureError naming the first failing
 * record and the reason), which lets bisect-on-error split it. Errors are logged and kept
 * only in their safe shape (lambda/shared/safe-error.ts).
 */
export class OrderedStreamProcessor extends BatchProcessor {
  constructor(
    private readonly subsystem: Subsystem,
    private readonly log: Logger,
    private readonly tally = new MetricTally(),
  ) {
    super(EventType.DynamoDBStreams);
  }

  override async process() {
    this.prepare();
    const records = this.records as DynamoDBRecord[];
    const { failedAt, error } = await this.runInOrder(records);
    // What the failure handler keeps may be thrown (FullBatchFailureError): safe shapes only.
    const results = records.map((record, index) => {
      if (index < failedAt) return this.successHandler(record, undefined);
      return this.failureHandler(record, safeError(index === failedAt ? error : new SkippedAfterFailure(records[failedAt]!)));
    });
    try {
      this.clean();
    } catch (thrown) {
      if (!(thrown instanceof FullBatchFailureError)) throw thrown;
      throw new BatchFailedError(this.subsystem.name, records, this.errors.map((e) => safeError(e)));
    }
    return results;
  }

  /** Returns the index of the first record that did not take effect (records.length when all did). */
  async runInOrder(records: readonly DynamoDBRecord[]): Promise<{ failedAt: number; error?: unknown }> {
    const changes: StreamChange[] = [];
    const recordIndexOf: number[] = [];
    let stop: { failedAt: number; error: unknown; decoding?: boolean } | undefined;
    let skipped = 0;

    for (const [index, record] of records.entries()) {
      try {
        const keys = readKeys(record);
        if (!this.subsystem.owns(keys)) {
          skipped++;
          if (this.log.level <= LogLevelThreshold.DEBUG) this.log.debug('skipped: row not owned', { pk: keys.PK, sk: keys.SK, eventID: record.eventID });
          continue;
        }
        const change = decodeRecord(record, { images: this.subsystem.needsImages !== false });
        logRecord(this.log, change);
        changes.push(change);
        recordIndexOf.push(index);
      } catch (error) {
        stop = { failedAt: index, error, decoding: true };
        break;
      }
    }
    // After a decode failure the records behind it are neither owned nor skipped: not looked at.
    this.tally.count('RecordsReceived', records.length);
    this.tally.count('RecordsOwned', changes.length);
    this.tally.count('RecordsSkipped', skipped);
    this.log.info('stream batch', batchSummary(records, changes));

    if (changes.length > 0) {
      try {
        await this.subsystem.apply(changes);
        this.tally.applied(changes.map((c) => c.approximateCreationDateTime));
      } catch (error) {
        const position = error instanceof ChangeFailedError ? error.position : 0;
        const cause = error instanceof ChangeFailedError ? error.cause : error;
        this.tally.applied(changes.slice(0, position).map((c) => c.approximateCreationDateTime));
        // A failure inside apply always precedes a decode failure (it only saw earlier records).
        stop = { failedAt: recordIndexOf[position] ?? 0, error: cause };
      }
    }

    if (!stop) return { failedAt: records.length };
    this.tally.fail(failureKindOf(stop.error, stop.decoding ? 'decode' : 'fatal'));
    const failed = records[stop.failedAt]!;
    this.log.error('record failed; it and every later record in the batch will be retried', {
      subsystem: this.subsystem.name,
      ...refOfRecord(failed),
      eventName: failed.eventName,
      sequenceNumber: failed.dynamodb?.SequenceNumber,
      error: safeError(stop.error),
    });
    return stop;
  }
}

/**
 * The Lambda handler for a subsystem: decode, filter, apply in order, report partial failures.
 * `tally` (shared with the subsystem) is published once at the end of every invocation.
 */
export function createStreamHandler(subsystem: Subsystem, logger: Logger, tally = new MetricTally()) {
  const processor = new OrderedStreamProcessor(subsystem, logger, tally);
  // Used by BatchProcessor.processRecord only; our process() handles the batch as a whole.
  const applySingle = async (record: DynamoDBRecord) => {
    const { failedAt, error } = await processor.runInOrder([record]);
    if (failedAt === 0) throw safeError(error);
  };
  // One handler for both sources: a Kinesis record is read as the change it carries (its
  // sequence number stays the position, so batchItemFailures name what the mapping resumes from).
  return async (event: DynamoDBStreamEvent | KinesisStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
    try {
      if (!Array.isArray(event?.Records)) {
        tally.fail('decode');
        throw new StreamRecordError({}, 'event is not a DynamoDB stream or Kinesis batch: it has no Records array');
      }
      if (context) logger.addContext(context);
      return await processPartialResponse(toStreamEvent(event), applySingle, processor, { context, processInParallel: false });
    } finally {
      tally.publish();
    }
  };
}

/**
 * A stream handler whose subsystem may ask how long the invocation has left (to stop sending
 * before the deadline). Lambda runs one invocation at a time per container, so one slot holds
 * the current context.
 */
export function createDeadlineAwareHandler(build: (remainingMs: () => number | undefined) => Subsystem, logger: Logger, tally: MetricTally) {
  let context: Context | undefined;
  const handler = createStreamHandler(build(() => context?.getRemainingTimeInMillis()), logger, tally);
  return async (event: DynamoDBStreamEvent | KinesisStreamEvent, ctx?: Context): Promise<DynamoDBBatchResponse> => {
    context = ctx;
    try {
      return await handler(event, ctx);
    } finally {
      context = undefined;
    }
  };
}
