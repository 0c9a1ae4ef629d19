/**
 * The chaos run's faults: which invocation, request or record each one hits, counted so the
 * test can assert every kind really happened.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import type { SubsystemName } from '../lambda/subsystems';
import type { Random } from './dataset';
import type { InvocationCall } from './esm-emulator';

/**
 * dynamo-before / sqs-entry / sqs-call: retryable adapter errors (the handlers retry them);
 * dynamo-fatal / sqs-entry-fatal: errors the handlers do not retry, so the record fails, the
 * runner stops there and Lambda retries the batch from it; dynamo-after: the write landed but
 * its response was lost; timeout: part of the batch took effect, then the function died;
 * duplicate: the batch is delivered twice. On the indexer (the search queue's consumer):
 * typesense-503 / typesense-reset: Typesense answers 503 or drops the connection (retried);
 * indexer-timeout: part of the SQS batch took effect, then the function died (the batch
 * comes back after the visibility timeout); indexer-duplicate: the batch is delivered twice.
 * record-loss: a stream record the mapping never delivers (dropped from the event before the
 * handler sees it, the batch reported a success): no retry brings it back, only a later
 * write to the same key or the repair pass (counted per record lost).
 */
export type Fault =
  | 'dynamo-before'
  | 'dynamo-fatal'
  | 'dynamo-after'
  | 'sqs-entry'
  | 'sqs-entry-fatal'
  | 'sqs-call'
  | 'timeout'
  | 'duplicate'
  | 'typesense-503'
  | 'typesense-reset'
  | 'indexer-timeout'
  | 'indexer-duplicate'
  | 'record-loss';

const INDEXER_FAULTS: Fault[] = ['typesense-503', 'indexer-timeout', 'typesense-reset', 'indexer-duplicate'];

/**
 * At most one fault per invocation, and none after a batch's third retry: faults stay
 * below the retry limit, so every record must land and the DLQ must stay empty.
 */
export class FaultPlan {
  readonly injected: Record<Fault, number> = {
    'dynamo-before': 0,
    'dynamo-fatal': 0,
    'dynamo-after': 0,
    'sqs-entry': 0,
    'sqs-entry-fatal': 0,
    'sqs-call': 0,
    timeout: 0,
    duplicate: 0,
    'typesense-503': 0,
    'typesense-reset': 0,
    'indexer-timeout': 0,
    'indexer-duplicate': 0,
    'record-loss': 0,
  };
  /** Every record is lost (the run's lossy tail), whatever `enabled` says about other faults. */
  loseAll = false;
  private readonly lost = new Set<string>();
  private readonly delivered = new Set<string>();
  private indexerTurn = 0;
  private readonly armed = new Map<SubsystemName, { fault: Fault; countdown: number }>();
  private readonly turn = new Map<string, number>();

  constructor(
    private readonly random: Random,
    private enabled = true,
    /** Its own stream, so loss does not shift which invocations the other faults hit. */
    private readonly lossRandom: Random = random,
  ) {}

  /** No more faults (the repair pass and its drain run clean). */
  /** No fault from here on: a request-level fault armed by an invocation that made no matching request is dropped too. */
  stop(): void {
    this.enabled = false;
    this.loseAll = false;
    this.armed.clear();
  }

  /**
   * The records this invocation loses: all of them in the lossy tail; otherwise one record in
   * 1 invocation of 12. A lost record stays lost for that mapping: every redelivery of its batch drops it too.
   */
  lose(call: InvocationCall): DynamoDBRecord[] {
    const id = (r: DynamoDBRecord) => `${call.subsystem} ${r.eventID}`;
    // Only a record this mapping never handed its function can be lost (as in AWS, where a
    // delivered record that keeps failing ends in the failure destination, never in silence).
    const records = call.event.Records;
    const unseen = records.filter((r) => !this.delivered.has(id(r)));
    const fresh = this.loseAll ? unseen : this.enabled && unseen.length > 0 && this.lossRandom() < 1 / 12 ? [unseen[Math.floor(this.lossRandom() * unseen.length)]!] : [];
    for (const r of fresh) {
      if (this.lost.has(id(r))) continue;
      this.lost.add(id(r));
      this.injected['record-loss'] += 1;
    }
    for (const r of records) if (!this.lost.has(id(r))) this.delivered.add(id(r));
    return records.filter((r) => this.lost.has(id(r)));
  }

  /** Decides this invocation's fault, if any. */
  arm(call: InvocationCall): Fault | undefined {
    this.armed.delete(call.subsystem as SubsystemName);
    if (!this.enabled || call.retries >= 3 || this.random() > 0.5) return undefined;
    // Rotate through the kinds so each occurs; the PRNG decides which invocations are hit.
    const kinds: Fault[] = call.subsystem === 'typesense-sync' ? ['sqs-entry', 'sqs-entry-fatal', 'timeout', 'sqs-call', 'duplicate'] : ['dynamo-before', 'dynamo-fatal', 'timeout', 'dynamo-after', 'duplicate'];
    // The turn moves on once a fault has fired: a request-level fault whose invocation made no
    // matching request (e.g. an in-sync reconcile writes nothing) is tried again next time.
    const turn = this.turn.get(call.subsystem) ?? 0;
    const fault = kinds[turn % kinds.length]!;
    if (fault === 'timeout' || fault === 'duplicate') this.turn.set(call.subsystem, turn + 1);
    if (fault !== 'timeout' && fault !== 'duplicate') {
      // Call-level faults hit the first call; request-level ones one of the first few requests.
      const countdown = fault === 'sqs-call' || fault === 'dynamo-after' ? 0 : Math.floor(this.random() * 3);
      this.armed.set(call.subsystem as SubsystemName, { fault, countdown });
    }
    return fault;
  }

  /** The indexer invocation's fault, if any: none once a message was received 3 times (stays below maxReceiveCount 5). */
  armIndexer(receiveCounts: readonly number[]): Fault | undefined {
    if (!this.enabled || receiveCounts.some((n) => n >= 3) || this.random() > 0.5) return undefined;
    const fault = INDEXER_FAULTS[this.indexerTurn++ % INDEXER_FAULTS.length]!;
    this.injected[fault] += 1;
    return fault;
  }

  /** True once, on the armed request of this subsystem. */
  fire(subsystem: SubsystemName, kinds: Fault[]): Fault | undefined {
    const plan = this.armed.get(subsystem);
    if (!plan || !kinds.includes(plan.fault)) return undefined;
    if (plan.countdown-- > 0) return undefined;
    this.armed.delete(subsystem);
    this.turn.set(subsystem, (this.turn.get(subsystem) ?? 0) + 1);
    this.injected[plan.fault] += 1;
    return plan.fault;
  }

  count(fault: Fault): void {
    this.injected[fault] += 1;
  }
}
