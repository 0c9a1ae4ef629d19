/**
 * `ops redrive`: turns stream failures back into triggers, whatever their age.
 * - `--from`: S3 on-failure objects (or the local folder standing in for the bucket): the
 *   records' keys go through the owning subsystems' reconcile entries (origin `redrive`); an
 *   object is deleted (or marked, --keep) only when every one of its keys reconciled.
 * - `--dlq-url`: SQS metadata messages of older deployments (shard + sequence range only): the
 *   range is re-read from the stream while it retains it; a range it no longer holds is
 *   reported (exit 1) and its message left in place, never dropped silently.
 */
import { GetRecordsCommand, GetShardIteratorCommand, type DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RowKeys } from '../lambda/shared/key-rules';
import { compareSequenceNumbers } from './sequence-number';
import { errorMessage } from './common';
import { batchInfoOf, keysOfFailureObject } from './failure-record';
import type { FailureStore } from './failure-store';
import { reconcileKeys, type ReconcilerSet } from './reconcile';
import { Tally, type KeyCounts } from './tally';

export interface ObjectOutcome {
  readonly object: string;
  readonly keys: number;
  /** removed | kept | left (some key failed, or the object could not be read) | would-redrive (dry run) */
  readonly outcome: 'removed' | 'kept' | 'left' | 'would-redrive';
  readonly error?: string;
}

export interface RedriveReport {
  readonly run: string;
  readonly dryRun: boolean;
  readonly source: string;
  readonly objects: ObjectOutcome[];
  /** Failed keys all counted, the first ones named. */
  readonly keys: KeyCounts;
}

export async function runRedrive(options: {
  readonly store: FailureStore;
  readonly reconcilers: ReconcilerSet;
  readonly run: string;
  readonly dryRun?: boolean;
  readonly keep?: boolean;
  readonly onProgress?: (objects: number) => void;
}): Promise<RedriveReport> {
  const { store, reconcilers, run } = options;
  const tally = new Tally(reconcilers);
  const objects: ObjectOutcome[] = [];
  for (const key of await store.list()) {
    let keys: RowKeys[];
    try {
      keys = keysOfFailureObject(await store.read(key), `${store.location}/${key}`).keys;
    } catch (error) {
      objects.push({ object: key, keys: 0, outcome: 'left', error: errorMessage(error) });
      continue;
    }
    const result = await reconcileKeys(reconcilers, keys, { kind: 'redrive', run }, { dryRun: options.dryRun ?? false });
    tally.add(result);
    if (options.dryRun) objects.push({ object: key, keys: keys.length, outcome: 'would-redrive' });
    else if (result.failures.length > 0) objects.push({ object: key, keys: keys.length, outcome: 'left', error: `${result.failures.length} key(s) failed` });
    else if (options.keep) {
      await store.keep(key, run);
      objects.push({ object: key, keys: keys.length, outcome: 'kept' });
    } else {
      await store.remove(key);
      objects.push({ object: key, keys: keys.length, outcome: 'removed' });
    }
    options.onProgress?.(objects.length);
  }
  return { run, dryRun: options.dryRun ?? false, source: store.location, objects, keys: tally.counts() };
}

export interface DlqMessageOutcome {
  readonly messageId: string;
  readonly shardId?: string;
  readonly range?: string;
  readonly keys: number;
  readonly outcome: 'deleted' | 'left' | 'would-redrive';
  readonly error?: string;
}

const UNRETAINED = new Set(['TrimmedDataAccessException', 'ResourceNotFoundException', 'ExpiredIteratorException']);

/** Every key in [start, end] of one shard, read from the stream; throws when the stream no longer holds the range. */
export async function readRange(streams: Pick<DynamoDBStreamsClient, 'send'>, info: { streamArn: string; shardId: string; startSequenceNumber: string; endSequenceNumber: string }): Promise<RowKeys[]> {
  const keys: RowKeys[] = [];
  let iterator = (
    await streams.send(new GetShardIteratorCommand({ StreamArn: info.streamArn, ShardId: info.shardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: info.startSequenceNumber }))
  ).ShardIterator;
  let first = true;
  let emptyPages = 0;
  while (iterator) {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    const records = page.Records ?? [];
    for (const r of records) {
      const seq = r.dynamodb?.SequenceNumber ?? '';
      if (first && seq !== info.startSequenceNumber) throw Object.assign(new Error(`stream starts at ${seq}, after the range's first record ${info.startSequenceNumber}`), { name: 'TrimmedDataAccessException' });
      first = false;
      if (compareSequenceNumbers(seq, info.endSequenceNumber) > 0) return keys;
      const k = r.dynamodb?.Keys;
      if (k?.PK?.S === undefined || k.SK?.S === undefined) throw new Error(`stream record ${r.eventID ?? '?'} (sequence ${seq}) has no string PK/SK`);
      keys.push({ PK: k.PK.S, SK: k.SK.S });
      if (seq === info.endSequenceNumber) return keys;
    }
    // An open shard answers empty pages at its tip: a few in a row mean the range's end is not there.
    emptyPages = records.length === 0 ? emptyPages + 1 : 0;
    if (emptyPages >= 5) break;
    iterator = page.NextShardIterator;
  }
  if (first) throw Object.assign(new Error(`no record at ${info.startSequenceNumber} in shard ${info.shardId}`), { name: 'TrimmedDataAccessException' });
  throw new Error(`stream ended before the range's last record ${info.endSequenceNumber} (read ${keys.length} record(s))`);
}

export async function runDlqRedrive(options: {
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly queueUrl: string;
  readonly streams: Pick<DynamoDBStreamsClient, 'send'>;
  readonly reconcilers: ReconcilerSet;
  readonly run: string;
  readonly dryRun?: boolean;
  /** Stop after this many receive calls (each up to 10 messages); default: until the queue answers empty. */
  readonly maxReceives?: number;
}): Promise<{ run: string; dryRun: boolean; messages: DlqMessageOutcome[]; unretained: number; keys: KeyCounts }> {
  const tally = new Tally(options.reconcilers);
  const messages: DlqMessageOutcome[] = [];
  for (let receive = 0; receive < (options.maxReceives ?? Number.POSITIVE_INFINITY); receive += 1) {
    const out = await options.sqs.send(new ReceiveMessageCommand({ QueueUrl: options.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 }));
    if (!out.Messages?.length) break;
    for (const m of out.Messages) {
      const id = m.MessageId ?? '?';
      let info;
      try {
        info = batchInfoOf(JSON.parse(m.Body ?? ''), `message ${id}`, { kinesis: false });
      } catch (error) {
        messages.push({ messageId: id, keys: 0, outcome: 'left', error: errorMessage(error) });
        continue;
      }
      const where = { shardId: info.shardId, range: `${info.startSequenceNumber}..${info.endSequenceNumber}` };
      let keys: RowKeys[];
      try {
        keys = await readRange(options.streams, info);
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        const reason = UNRETAINED.has(name) ? `the stream no longer retains this range (${name}: ${errorMessage(error)})` : errorMessage(error);
        messages.push({ messageId: id, ...where, keys: 0, outcome: 'left', error: reason });
        continue;
      }
      const result = await reconcileKeys(options.reconcilers, keys, { kind: 'redrive', run: options.run }, { dryRun: options.dryRun ?? false });
      tally.add(result);
      if (options.dryRun) messages.push({ messageId: id, ...where, keys: keys.length, outcome: 'would-redrive' });
      else if (result.failures.length > 0) messages.push({ messageId: id, ...where, keys: keys.length, outcome: 'left', error: `${result.failures.length} key(s) failed` });
      else {
        await options.sqs.send(new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: m.ReceiptHandle }));
        messages.push({ messageId: id, ...where, keys: keys.length, outcome: 'deleted' });
      }
    }
  }
  const unretained = messages.filter((m) => m.error?.startsWith('the stream no longer retains')).length;
  return { run: options.run, dryRun: options.dryRun ?? false, messages, unretained, keys: tally.counts() };
}
