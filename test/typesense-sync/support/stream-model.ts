import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { deepEqual } from '../../../lambda/typesense-sync/documents';
import { matchIndexedSpec } from '../../../lambda/typesense-sync/specs';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../../support/events';
import type { SearchIndex } from './fifo-queue';

export type Row = Record<string, unknown> & { PK: string; SK: string };

const keyOf = (row: { PK: string; SK: string }) => `${row.PK}\u0000${row.SK}`;

/**
 * A single-shard table: writes produce stream records the way DynamoDB does (no record
 * for a put that changes nothing or a delete of an absent item).
 */
export class TableModel {
  readonly rows = new Map<string, Row>();
  readonly records: DynamoDBRecord[] = [];
  /** Per record (same index): the key it changed and the row after it (undefined: deleted). */
  readonly history: { readonly key: string; readonly row: Row | undefined }[] = [];

  put(row: Row): void {
    const old = this.rows.get(keyOf(row));
    if (old && deepEqual(old, row)) return;
    this.rows.set(keyOf(row), row);
    this.records.push(old ? modifyRecord(old, row) : insertRecord(row));
    this.history.push({ key: keyOf(row), row });
  }

  delete(keys: { PK: string; SK: string }): void {
    const old = this.rows.get(keyOf(keys));
    if (!old) return;
    this.rows.delete(keyOf(keys));
    this.records.push(removeRecord(old));
    this.history.push({ key: keyOf(keys), row: undefined });
  }

  /** The row for a key as it was right after record `index` was written. */
  rowAt(index: number, key: { PK: string; SK: string }): Row | undefined {
    const id = keyOf(key);
    for (let i = Math.min(index, this.history.length - 1); i >= 0; i -= 1) if (this.history[i]!.key === id) return this.history[i]!.row;
    return undefined;
  }

  /** The current row for a key (what the indexer reads when it runs). */
  row(key: { PK: string; SK: string }): Row | undefined {
    return this.rows.get(keyOf(key));
  }

  /** I1's right-hand side: the current rows through the specs. */
  projection(): SearchIndex {
    const index: SearchIndex = new Map();
    for (const row of this.rows.values()) {
      const spec = matchIndexedSpec(row);
      const doc = spec?.toDocument(row);
      if (!spec || !doc) continue;
      const docs = index.get(spec.collection) ?? new Map();
      docs.set(doc.id, { ...doc });
      index.set(spec.collection, docs);
    }
    return index;
  }
}

export interface InvocationFault {
  /** Model time passing before this invocation (ms). */
  readonly advanceMs: number;
  /** The function's work is done but Lambda sees a failure (timeout, lost response): same batch again. */
  readonly lostResponse: boolean;
  /** After a failure, the next batch is half the size (bisect on error). */
  readonly bisect: boolean;
}

export type Handler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

/**
 * A small event-source-mapping driver for one shard: batches in stream order from the
 * checkpoint; a partial batch response moves the checkpoint to the first reported
 * record; a thrown error (whole batch failed) or a lost response retries from the same
 * checkpoint; after a failure the batch may be bisected. Retries are unbounded (the
 * fault schedule is finite), so every record eventually takes effect.
 */
export async function runMapping(
  records: readonly DynamoDBRecord[],
  handler: Handler,
  options: { batchSize: number; faults?: readonly InvocationFault[]; advance?: (ms: number) => void; maxInvocations?: number },
): Promise<{ invocations: number }> {
  const faults = [...(options.faults ?? [])];
  const max = options.maxInvocations ?? 10_000;
  let checkpoint = 0;
  let size = options.batchSize;
  let invocations = 0;
  while (checkpoint < records.length) {
    invocations += 1;
    if (invocations > max) throw new Error(`mapping did not finish in ${max} invocations (checkpoint ${checkpoint})`);
    const fault = faults.shift() ?? { advanceMs: 1_000, lostResponse: false, bisect: false };
    options.advance?.(fault.advanceMs);
    const batch = records.slice(checkpoint, checkpoint + size);
    let failedAt: number | undefined;
    try {
      const response = await handler(streamEvent(...batch));
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      const index = batch.findIndex((r) => failed.has(r.dynamodb!.SequenceNumber!));
      failedAt = index === -1 ? undefined : index;
    } catch {
      failedAt = 0;
    }
    if (fault.lostResponse) failedAt = 0; // Lambda never saw the result: the batch comes again
    if (failedAt === undefined) {
      checkpoint += batch.length;
      size = options.batchSize;
      continue;
    }
    checkpoint += failedAt;
    if (fault.bisect) size = Math.max(1, Math.ceil((batch.length - failedAt) / 2));
  }
  return { invocations };
}
