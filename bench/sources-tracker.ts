/**
 * Freshness bookkeeping for bench/sources.ts: when each write completed on the client, and
 * when each subsystem's handler call that applied it resolved.
 *
 * A write is named by the row's keys and a `bench_v` version the workload puts on every put
 * and update (a remove by the version it removed), because DynamoDB Local's change times are
 * whole seconds. Only the first successful application counts (a Kinesis duplicate or a retry
 * applies a change again, later). Search is also followed to the indexer: the search message
 * carries the record's eventID, so the indexer call that handled it closes the loop.
 */
import type { DynamoDBRecord, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { InvocationCall } from '../local/esm-types';
import { percentile } from './sources-model';

export const VERSION_ATTRIBUTE = 'bench_v';
/** The name the end-to-end search figure is reported under. */
export const SEARCH_INDEXED = 'typesense-sync → indexer';

/** The write a stream record carries: keys + version (+ `|REMOVE` for a delete); undefined for rows no write of ours made. */
export function writeKeyOf(record: DynamoDBRecord): string | undefined {
  const d = record.dynamodb;
  const pk = d?.Keys?.PK?.S;
  const sk = d?.Keys?.SK?.S;
  if (pk === undefined || sk === undefined) return undefined;
  if (record.eventName === 'REMOVE') {
    const v = d?.OldImage?.[VERSION_ATTRIBUTE]?.N;
    return v === undefined ? undefined : writeKey(pk, sk, Number(v), true);
  }
  const v = d?.NewImage?.[VERSION_ATTRIBUTE]?.N;
  return v === undefined ? undefined : writeKey(pk, sk, Number(v), false);
}

export const writeKey = (pk: string, sk: string, version: number, removed: boolean): string => `${pk}\u0000${sk}\u0000${version}${removed ? '\u0000REMOVE' : ''}`;

const failedIds = (response: unknown): Set<string> =>
  new Set(((response as SQSBatchResponse | undefined)?.batchItemFailures ?? []).map((f) => f.itemIdentifier));

export interface FreshnessSummary {
  /** Writes applied (first time), p50 and p99 of write completion → handler call resolved, ms. */
  readonly applied: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly maxMs?: number;
}

export class FreshnessTracker {
  private readonly written = new Map<string, number>();
  private readonly applied = new Map<string, Map<string, number>>();
  private readonly searchWrites = new Map<string, string>();
  /** Deliveries of a write a subsystem had already applied (retries, Kinesis duplicates). */
  reapplied = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The client saw the write complete. */
  wrote(key: string, at = this.now()): void {
    this.written.set(key, at);
  }

  /** The emulator's invoke hook: runs the handler, then stamps each record it did not report failed. */
  readonly invoke = async (call: InvocationCall): Promise<unknown> => {
    if (call.subsystem === 'typesense-sync') {
      // Before the call: the indexer may take the message before this call resolves.
      for (const r of call.event.Records) {
        const key = writeKeyOf(r);
        if (key && r.eventID) this.searchWrites.set(r.eventID, key);
      }
    }
    const response = await call.handler(call.event, call.context);
    const at = this.now();
    const failed = failedIds(response);
    for (const r of call.event.Records) {
      if (failed.has(r.dynamodb?.SequenceNumber ?? '')) continue;
      const key = writeKeyOf(r);
      if (key) this.stamp(call.subsystem, key, at);
    }
    return response;
  };

  /** The pipeline's indexerInvoke hook: each message handled names the record (eventID) that sent it. */
  readonly indexerInvoke = async (event: SQSEvent, handler: (event: SQSEvent) => Promise<SQSBatchResponse>): Promise<SQSBatchResponse> => {
    const response = await handler(event);
    const at = this.now();
    const failed = failedIds(response);
    for (const m of event.Records) {
      if (failed.has(m.messageId)) continue;
      const eventID = (JSON.parse(m.body) as { origin?: { eventID?: string } }).origin?.eventID;
      const key = eventID === undefined ? undefined : this.searchWrites.get(eventID);
      if (key) this.stamp(SEARCH_INDEXED, key, at);
    }
    return response;
  };

  private stamp(subsystem: string, key: string, at: number): void {
    const m = this.applied.get(subsystem) ?? new Map<string, number>();
    this.applied.set(subsystem, m);
    if (m.has(key)) this.reapplied += 1;
    else m.set(key, at);
  }

  /** Per subsystem: the freshness of every write it applied, ms. */
  samples(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [subsystem, m] of this.applied) {
      const ms: number[] = [];
      for (const [key, at] of m) {
        const wrote = this.written.get(key);
        if (wrote !== undefined) ms.push(Math.max(0, at - wrote));
      }
      out[subsystem] = ms;
    }
    return out;
  }
}

/** Per subsystem (sorted by name): writes applied and the percentiles of their freshness. */
export function summarize(samples: Record<string, readonly number[]>): Record<string, FreshnessSummary> {
  const round = (x: number | undefined) => (x === undefined ? undefined : Math.round(x));
  const out: Record<string, FreshnessSummary> = {};
  for (const [subsystem, ms] of Object.entries(samples).sort(([a], [b]) => a.localeCompare(b))) {
    out[subsystem] = { applied: ms.length, p50Ms: round(percentile(ms, 50)), p99Ms: round(percentile(ms, 99)), maxMs: round(percentile(ms, 100)) };
  }
  return out;
}
