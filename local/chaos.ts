/**
 * Chaos run: a random workload over every row kind goes through DynamoDB Local, the
 * emulator and the real handlers while faults are injected (adapter errors before and after
 * a write lands, throttled and failed SQS calls, a handler timing out after part of its side
 * effects, duplicate deliveries; on the indexer, Typesense 503s and resets, timeouts and
 * duplicates; bisected retries and redeliveries follow from them). The chaos test asserts
 * I1–I4 on its result; `npm run bench` runs it larger.
 */
import type { RowKeys } from '../lambda/shared/key-rules';
import type { SubsystemName } from '../lambda/subsystems';
import { prng, pick, registrationImagePk, icaoImagePk, type Change, type Random } from './dataset';
import type { InvocationCall } from './esm-emulator';
import { LocalPipeline } from './pipeline';
import { applyChange } from './table-io';

const TUPLES = [
  ['B738', 'BOEING', '737-8H4'],
  ['B738', 'BOEING', '737-824'],
  ['C172', 'CESSNA', '172S'],
  ['PA28', 'PIPER AIRCRAFT INC', 'PA-28-181'],
] as const;

/** Random writes over a small key space, so documents, entities and tuples churn. */
export function chaosWorkload(random: Random, operations: number): Change[] {
  const changes: Change[] = [];
  const regs = Array.from({ length: 12 }, (_, i) => `N${100 + i}`);
  const foreign = Array.from({ length: 10 }, (_, i) => `G-CH${String.fromCharCode(65 + i)}`);
  const types = ['B738', 'A320', 'C172', 'PA28', 'E75L', 'R44'];
  const mfrs = ['BOEING', 'AIRBUS', 'CESSNA', 'PIPER'];
  const entities = [
    ...regs.slice(0, 6).map((r) => ({ pk: registrationImagePk('SYSTEM', r), org: 'SYSTEM', type: 'REGISTRATION', id: r })),
    ...regs.slice(0, 2).map((r) => ({ pk: registrationImagePk('ACME', r), org: 'ACME', type: 'REGISTRATION', id: r })),
    ...types.slice(0, 3).map((t) => ({ pk: icaoImagePk('SYSTEM', t), org: 'SYSTEM', type: 'ICAO', id: t })),
  ];
  const images = new Map<string, string[]>(entities.map((e) => [e.pk, []]));
  const links = Array.from({ length: 40 }, (_, i) => ({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#${1000 + (i % 7)}#SN#${20_000 + i}` }));
  let n = 0;

  const del = (key: RowKeys): Change => ({ kind: 'delete', key });
  const generators: Array<() => Change> = [
    () => {
      const reg = pick(random, regs);
      const key = { PK: 'AIRCRAFT#REGISTRY#FAA', SK: `DETAIL#${reg}` };
      const r = random();
      if (r < 0.45) return { kind: 'put', item: { ...key, registration: reg, manufacturer: pick(random, mfrs), model: `M${Math.floor(random() * 5)}`, year_manufactured: 1990 + Math.floor(random() * 30), owner_name: `OWNER ${Math.floor(random() * 9)}` } };
      if (r < 0.6) return { kind: 'update', key, set: { owner_name: `OWNER ${Math.floor(random() * 9)}` } };
      if (r < 0.7) return { kind: 'update', key, set: { internal_note: `n${n++}` } };
      if (r < 0.8) return { kind: 'update', key, set: {}, remove: ['manufacturer'] };
      return del(key);
    },
    () => {
      const reg = pick(random, foreign);
      const key = { PK: 'AIRCRAFT#REGISTRY#FOREIGN', SK: `DETAIL#${reg}` };
      return random() < 0.7 ? { kind: 'put', item: { ...key, registration: reg, manufacturer: pick(random, mfrs), model: `F${Math.floor(random() * 3)}`, country: 'GB' } } : del(key);
    },
    () => {
      const t = pick(random, types);
      const key = { PK: 'ICAO#AIRCRAFT', SK: `TYPE#${t}` };
      return random() < 0.75 ? { kind: 'put', item: { ...key, type_designator: t, manufacturer: pick(random, mfrs), model: `${t}-${Math.floor(random() * 3)}`, engine_count: 1 + Math.floor(random() * 2) } } : del(key);
    },
    () => {
      const code = pick(random, mfrs);
      const key = { PK: 'ICAO#MANUFACTURERS', SK: `MFR#${code}` };
      return random() < 0.75 ? { kind: 'put', item: { ...key, code, name: `${code} ${Math.floor(random() * 3)}`, country: 'US' } } : del(key);
    },
    () => {
      const key = { PK: 'ICAO#VARIANTS', SK: `VARIANT#${pick(random, types)}` };
      return random() < 0.7 ? { kind: 'put', item: { ...key, variant: `v${n++}` } } : del(key);
    },
    () => {
      const e = pick(random, entities);
      const existing = images.get(e.pk)!;
      const r = random();
      if (existing.length === 0 || r < 0.45) {
        n += 1;
        const sk = `IMG#2026-01-01T00:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}Z#${n}`;
        existing.push(sk);
        return { kind: 'put', item: { PK: e.pk, SK: sk, org_id: e.org, entity_type: e.type, entity_id: e.id, image_id: `img${n}`, url: `https://img.example/${n}.jpg`, caption: `c${n}` } };
      }
      const sk = pick(random, existing);
      if (r < 0.7) return { kind: 'update', key: { PK: e.pk, SK: sk }, set: { url: `https://img.example/${n++}-v.jpg` } };
      existing.splice(existing.indexOf(sk), 1);
      return del({ PK: e.pk, SK: sk });
    },
    () => {
      const key = pick(random, links);
      const r = random();
      const [type_designator, manufacturer, model] = pick(random, TUPLES);
      if (r < 0.55) return { kind: 'put', item: { ...key, type_designator: random() < 0.1 ? ` ${type_designator.toLowerCase()} ` : type_designator, manufacturer, model } };
      if (r < 0.7) return { kind: 'update', key, set: { type_designator, manufacturer, model } };
      if (r < 0.8) return { kind: 'update', key, set: { model: '  ' } };
      return del(key);
    },
  ];
  const weights = [4, 1, 1, 1, 1, 4, 4];
  const total = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < operations; i += 1) {
    let x = random() * total;
    const index = weights.findIndex((w) => (x -= w) < 0);
    changes.push(generators[index]!());
  }
  return changes;
}

// ---- faults -----------------------------------------------------------------------

/**
 * dynamo-before / sqs-entry / sqs-call: retryable adapter errors (the handlers retry them);
 * dynamo-fatal / sqs-entry-fatal: errors the handlers do not retry, so the record fails, the
 * runner stops there and Lambda retries the batch from it; dynamo-after: the write landed but
 * its response was lost; timeout: part of the batch took effect, then the function died;
 * duplicate: the batch is delivered twice. On the indexer (the search queue's consumer):
 * typesense-503 / typesense-reset: Typesense answers 503 or drops the connection (retried);
 * indexer-timeout: part of the SQS batch took effect, then the function died (the batch
 * comes back after the visibility timeout); indexer-duplicate: the batch is delivered twice.
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
  | 'indexer-duplicate';

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
  };
  private indexerTurn = 0;
  private readonly armed = new Map<SubsystemName, { fault: Fault; countdown: number }>();
  private readonly turn = new Map<string, number>();

  constructor(
    private readonly random: Random,
    private readonly enabled = true,
  ) {}

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

const throttled = () => Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems']);

export interface ChaosOptions {
  readonly endpoint: string;
  readonly operations: number;
  /** Faults on (default true): off gives the baseline for the same workload. */
  readonly faults?: boolean;
  readonly logLevel?: string;
}

export async function runChaos(seed: number, options: ChaosOptions) {
  const random = prng(seed);
  const faults = new FaultPlan(prng(seed ^ 0xfa17), options.faults ?? true);
  const pipeline = new LocalPipeline({
    endpoint: options.endpoint,
    tableName: `chaos-${seed}-${Date.now() % 100_000}`,
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
    invoke: async (call) => {
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
    return { report: await pipeline.report(), faults: faults.injected, workload, seconds: { write: (writtenAt - startedAt) / 1000, drain: (drainedAt - writtenAt) / 1000 } };
  } finally {
    await pipeline.stop({ dropTable: true });
  }
}
