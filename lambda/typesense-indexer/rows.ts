import { BatchGetItemCommand, type AttributeValue, type BatchGetItemCommandInput, type BatchGetItemCommandOutput } from '@aws-sdk/client-dynamodb';
import { decodeImage, type Item } from '../shared/decode';
import type { RowKeys } from '../shared/key-rules';
import { classified } from '../shared/metrics';
import { safeError } from '../shared/safe-error';
import { type IndexerRetryPolicy } from './retry';
import { backoffDelay } from '../shared/backoff';

/** BatchGetItem's limit on keys per call. */
export const BATCH_GET_MAX_KEYS = 100;

export interface BatchGetter {
  send(command: BatchGetItemCommand): Promise<BatchGetItemCommandOutput>;
}

const keyId = (pk: string, sk: string) => `${pk}\u0000${sk}`;

/**
 * Reads the current rows for `keys` with strongly consistent BatchGetItem calls (up to 100
 * keys each), retrying UnprocessedKeys with backoff. Returns PK/SK -> row for the rows that
 * exist (a missing key is a deleted row). Numbers decode as the stream decoder does, so a
 * number a double cannot hold stays exact and the projection refuses it.
 */
export async function readRows(ddb: BatchGetter, tableName: string, keys: readonly RowKeys[], policy: IndexerRetryPolicy): Promise<Map<string, Item>> {
  const rows = new Map<string, Item>();
  const unique = [...new Map(keys.map((k) => [keyId(k.PK, k.SK), k])).values()];
  for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
    let pending: Record<string, AttributeValue>[] = unique.slice(start, start + BATCH_GET_MAX_KEYS).map((k) => ({ PK: { S: k.PK }, SK: { S: k.SK } }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const input: BatchGetItemCommandInput = { RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } };
      let output: BatchGetItemCommandOutput;
      try {
        output = await ddb.send(new BatchGetItemCommand(input));
      } catch (error) {
        throw safeError(error); // an SDK error may carry the request and response
      }
      for (const raw of output.Responses?.[tableName] ?? []) {
        const row = decodeImage(raw);
        rows.set(keyId(String(row.PK), String(row.SK)), row);
      }
      pending = output.UnprocessedKeys?.[tableName]?.Keys ?? [];
      if (pending.length === 0) break;
      if (attempt >= policy.maxAttempts) {
        const first = pending[0]!;
        throw classified(new Error(`BatchGetItem left ${pending.length} keys unprocessed after ${attempt} attempts (first: PK=${first.PK?.S} SK=${first.SK?.S})`), 'throttled');
      }
      await policy.sleep(backoffDelay(attempt, policy, policy.random));
    }
  }
  return rows;
}

export const rowOf = (rows: ReadonlyMap<string, Item>, key: RowKeys): Item | undefined => rows.get(keyId(key.PK, key.SK));
