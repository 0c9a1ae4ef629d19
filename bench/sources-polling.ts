/**
 * GetRecords calls per shard per second, measured against DynamoDB Local's Streams API: one
 * independent poller per mapping and shard at Lambda's documented cadence (a GetRecords every
 * 250 ms, the next one as soon as a page came back full), while a writer puts rows. This
 * measures the call rate the mappings put on a shard; it cannot measure AWS's throttling:
 * DynamoDB Local enforces no per-shard read limit (the burst probe below checks that).
 *
 * The project's event-source-mapping emulator does not poll like this: it reads each shard
 * once for every mapping (see local/esm-emulator.ts), so its own call rate is no model of AWS.
 */
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { localClientConfig } from '../local/dynamodb-local';
import { findStreamArn, sdkStreamSource } from '../local/stream-source';
import { createTable } from '../local/table-io';
import { LAMBDA_POLLS_PER_SECOND_PER_MAPPING } from './sources-model';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const THROTTLES = new Set(['LimitExceededException', 'ThrottlingException', 'ProvisionedThroughputExceededException']);
const PAGE = 1000;

export interface PollingFigures {
  readonly mappings: number;
  readonly shards: number;
  readonly seconds: number;
  readonly getRecordsCalls: number;
  readonly callsPerShardPerSecond: number;
  readonly throttled: number;
  /** Rows written while polling, and the fewest and most of them any one poller read (each should read all). */
  readonly rowsWritten: number;
  readonly minRecordsPerPoller: number;
  readonly maxRecordsPerPoller: number;
}

interface Poller {
  calls: number;
  throttled: number;
  records: number;
}

/** One mapping's poller on one shard: GetRecords every `intervalMs` (0: back to back) until `until`. */
async function poll(client: DynamoDBStreamsClient, streamArn: string, shardId: string, intervalMs: number, until: number): Promise<Poller> {
  const p: Poller = { calls: 0, throttled: 0, records: 0 };
  const start = await client.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
  let iterator = start.ShardIterator;
  while (iterator && performance.now() < until) {
    const t = performance.now();
    let full = false;
    try {
      p.calls += 1;
      const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: PAGE }));
      p.records += out.Records?.length ?? 0;
      full = (out.Records?.length ?? 0) === PAGE;
      iterator = out.NextShardIterator;
    } catch (error) {
      if (!THROTTLES.has((error as Error).name)) throw error;
      p.throttled += 1;
    }
    if (!full) await sleep(Math.max(0, t + intervalMs - performance.now()));
  }
  return p;
}

/**
 * `mappings` pollers per shard for `seconds`, at Lambda's cadence (or back to back with
 * `intervalMs: 0`), while `writesPerSecond` rows are put into the table.
 */
export async function measurePolling(
  endpoint: string,
  options: { mappings: number; seconds: number; writesPerSecond: number; intervalMs?: number },
): Promise<PollingFigures> {
  const tableName = `bench-poll-${randomUUID().slice(0, 8)}`;
  const ddb = new DynamoDBClient(localClientConfig(endpoint));
  const doc = DynamoDBDocumentClient.from(ddb);
  // One client per mapping, as each mapping is its own poller in Lambda.
  const clients = Array.from({ length: options.mappings }, () => new DynamoDBStreamsClient(localClientConfig(endpoint)));
  try {
    await createTable(ddb, tableName);
    const streamArn = await findStreamArn(clients[0]!, tableName);
    const shards = await sdkStreamSource(clients[0]!).describeShards(streamArn);
    const intervalMs = options.intervalMs ?? 1000 / LAMBDA_POLLS_PER_SECOND_PER_MAPPING;
    const started = performance.now();
    const until = started + options.seconds * 1000;
    let written = 0;
    const writer = (async () => {
      const gap = 1000 / options.writesPerSecond;
      // Stop writing a little early, so every poller can still read the last rows.
      while (performance.now() < until - 600) {
        const t = performance.now();
        await doc.send(new PutCommand({ TableName: tableName, Item: { PK: 'BENCH#POLL', SK: `ROW#${written}`, n: written } }));
        written += 1;
        await sleep(Math.max(0, t + gap - performance.now()));
      }
    })();
    const pollers = await Promise.all(shards.flatMap((s) => clients.map((c) => poll(c, streamArn, s.shardId, intervalMs, until))));
    await writer;
    const elapsed = (performance.now() - started) / 1000;
    const calls = pollers.reduce((n, p) => n + p.calls, 0);
    // A poller per mapping sees every shard: sum its records over shards.
    const perMapping = clients.map((_, m) => pollers.filter((_, i) => i % clients.length === m).reduce((n, p) => n + p.records, 0));
    return {
      mappings: options.mappings,
      shards: shards.length,
      seconds: +elapsed.toFixed(1),
      getRecordsCalls: calls,
      callsPerShardPerSecond: +(calls / shards.length / elapsed).toFixed(1),
      throttled: pollers.reduce((n, p) => n + p.throttled, 0),
      rowsWritten: written,
      minRecordsPerPoller: Math.min(...perMapping),
      maxRecordsPerPoller: Math.max(...perMapping),
    };
  } finally {
    await ddb.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    for (const c of clients) c.destroy();
    ddb.destroy();
  }
}
