import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Item } from '../shared/decode';
import { failureKindOf, MetricTally, type FailureKind } from '../shared/metrics';
import { SafeError, safeError } from '../shared/safe-error';
import { AttributeError, COLLECTION_SCHEMAS, type SearchDocument } from '../typesense-sync/documents';
import { parseTrigger } from './message';
import { collapse, failedMessages, type BatchMessage, type DocumentTarget } from './plan';
import { DeadlineReached, DEFAULT_INDEXER_RETRY, type IndexerRetryPolicy, type InvocationDeadline } from './retry';
import { readRows, rowOf, type BatchGetter } from './rows';
import { CollectionMissingError, isRetryableSearchError, type SearchPort } from './search';

export type IndexerLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface IndexerDeps {
  readonly ddb: BatchGetter;
  readonly tableName: string;
  /** The Typesense port, or a function giving it (its failure fails every document of the batch, named). */
  readonly search: SearchPort | (() => Promise<SearchPort>);
  readonly logger: IndexerLog;
  readonly retry?: Partial<IndexerRetryPolicy>;
  /** Counts Failures by kind, one per failed document or unreadable message (the handler publishes it). */
  readonly tally?: MetricTally;
}

/** What one batch did (returned alongside the response for tests and the bench). */
export interface IndexerOutcome {
  readonly response: SQSBatchResponse;
  readonly documents: number;
  readonly upserted: number;
  readonly deleted: number;
  readonly rejected: number;
  /** Per collection: documents upserted, deleted (present before) and rejected. */
  readonly byCollection: Record<string, { upserted: number; deleted: number; rejected: number }>;
}

const describe = (t: DocumentTarget) => ({ collection: t.collection, id: t.id, pk: t.key.PK, sk: t.key.SK });

/** A failed call's Failures kind: retryable errors that outlasted the retries (or the deadline) are `throttled`. */
const callFailure = (error: unknown): FailureKind => failureKindOf(error, isRetryableSearchError(error) || error instanceof DeadlineReached ? 'throttled' : 'fatal');

/**
 * The Typesense indexer, as a function of one SQS FIFO batch:
 * parse every message (a bad one fails, with every later message of its group); collapse
 * the triggers per document; read the rows now (BatchGetItem, strongly consistent); project
 * them through the specs; upsert the documents with one import per collection and delete
 * the rest by id. The hint and the origin are never trusted, so a stale trigger of any age
 * only makes the index agree with the table as it is now.
 *
 * A collection that does not exist (404) is created from COLLECTION_SCHEMAS and the call
 * is retried once, so a fresh Typesense needs no setup step.
 */
export async function indexBatch(deps: IndexerDeps, records: readonly SQSRecord[]): Promise<IndexerOutcome> {
  const { logger } = deps;
  const policy: IndexerRetryPolicy = { ...DEFAULT_INDEXER_RETRY, ...deps.retry };
  const batch: BatchMessage[] = records.map((record) => {
    const groupId = record.attributes?.MessageGroupId ?? '';
    try {
      return { messageId: record.messageId, groupId, trigger: parseTrigger(record.body, record.messageId, groupId) };
    } catch (error) {
      logger.error('search trigger rejected; it and every later message of its group fail', { messageId: record.messageId, groupId, error: safeError(error) });
      deps.tally?.fail('decode');
      return { messageId: record.messageId, groupId, trigger: { error: error as Error } };
    }
  });
  const failed = new Set<number>(batch.flatMap((m, i) => ('error' in m.trigger ? [i] : [])));
  const targets = collapse(batch);
  const failTarget = (target: DocumentTarget, kind: FailureKind, why: string, error?: unknown) => {
    deps.tally?.fail(kind);
    // Errors only in their safe shape: a client's error carries its request (API key, documents).
    logger.error(`document failed: ${why}`, { ...describe(target), messageIds: target.messages.map((i) => batch[i]!.messageId), ...(error !== undefined && { error: safeError(error) }) });
    for (const index of target.messages) failed.add(index);
  };
  let upserted = 0;
  let deleted = 0;
  let rejected = 0;
  const byCollection: IndexerOutcome['byCollection'] = {};
  const tally = (collection: string, what: 'upserted' | 'deleted' | 'rejected') => {
    (byCollection[collection] ??= { upserted: 0, deleted: 0, rejected: 0 })[what] += 1;
  };

  let rows: Map<string, Item> | undefined;
  try {
    rows = targets.length > 0 ? await readRows(deps.ddb, deps.tableName, targets.map((t) => t.key), policy) : new Map();
  } catch (error) {
    for (const t of targets) failTarget(t, callFailure(error), 'reading the row failed', error);
  }

  let search: SearchPort | undefined;
  if (rows) {
    try {
      search = typeof deps.search === 'function' ? await deps.search() : deps.search;
    } catch (error) {
      for (const t of targets) failTarget(t, callFailure(error), 'the Typesense client could not be set up', error);
    }
  }

  if (rows && search) {
    const port = search;
    const upserts = new Map<string, { target: DocumentTarget; document: SearchDocument }[]>();
    const deletes: DocumentTarget[] = [];
    for (const target of targets) {
      const row = rowOf(rows, target.key);
      let document: SearchDocument | null = null;
      if (row) {
        try {
          document = target.spec.toDocument(row);
        } catch (error) {
          if (!(error instanceof AttributeError)) throw error;
          failTarget(target, 'decode', `the row cannot be projected (${error.message})`, error);
          continue;
        }
      }
      if (document === null) deletes.push(target);
      else upserts.set(target.collection, [...(upserts.get(target.collection) ?? []), { target, document }]);
    }

    const onceMore = async <T>(collection: string, call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof CollectionMissingError)) throw error;
        const schema = COLLECTION_SCHEMAS.find((s) => s.name === collection);
        if (!schema) throw new Error(`no schema for collection ${collection}`, { cause: error });
        logger.warn('collection missing; creating it from its schema and retrying once', { collection });
        await port.createCollection(schema);
        return call();
      }
    };

    for (const [collection, items] of upserts) {
      try {
        const results = await onceMore(collection, () => port.importUpsert(collection, items.map((i) => i.document)));
        results.forEach((result, n) => {
          if (result.success) {
            upserted += 1;
            tally(collection, 'upserted');
          } else {
            rejected += 1;
            tally(collection, 'rejected');
            failTarget(items[n]!.target, 'rejected', `Typesense rejected the document: ${result.error}`);
          }
        });
      } catch (error) {
        for (const { target } of items) failTarget(target, callFailure(error), 'the import call failed', error);
      }
    }
    for (const target of deletes) {
      try {
        // A missing collection holds no document: the delete is done once it exists.
        const outcome = await onceMore(target.collection, () => port.deleteDocument(target.collection, target.id));
        if (outcome === 'deleted') {
          deleted += 1;
          tally(target.collection, 'deleted');
        }
      } catch (error) {
        failTarget(target, callFailure(error), 'the delete call failed', error);
      }
    }
  }

  const failures = failedMessages(batch, failed);
  // Freshness: each stream trigger whose document is now indexed, from its change in the table.
  const failedIds = new Set(failures);
  deps.tally?.applied(
    batch.flatMap((m) => {
      if (failedIds.has(m.messageId) || 'error' in m.trigger) return [];
      const origin = m.trigger.message.origin;
      return origin.kind === 'stream' && origin.approximateCreationDateTime !== null ? [origin.approximateCreationDateTime] : [];
    }),
  );
  logger.info('search batch', { messages: records.length, documents: targets.length, upserted, deleted, rejected, failedMessages: failures.length });
  return { response: { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) }, documents: targets.length, upserted, deleted, rejected, byCollection };
}

/**
 * The batch failed whole (a bug, not a document's failure): one line naming the first message
 * and the reason, and a safe error to throw (the Lambda runtime prints a thrown error's
 * properties). Every message is redelivered.
 */
function batchFailed(logger: IndexerLog, records: readonly SQSRecord[], error: unknown): SafeError {
  const reason = safeError(error);
  const first = records[0];
  const firstRef = first ? `SQS messageId=${first.messageId} group=${first.attributes?.MessageGroupId ?? '?'}` : 'no message';
  logger.error('search batch failed whole; every message will be redelivered', { messages: records.length, messageId: first?.messageId, groupId: first?.attributes?.MessageGroupId, error: reason });
  return new SafeError({
    name: 'IndexerBatchFailed',
    message: `every message of the batch failed (${records.length} messages; the first: ${firstRef}): ${reason.name}: ${reason.message}`,
    retryable: reason.retryable,
    cause: reason,
  });
}

/**
 * The Lambda handler on the search queue: partial batch responses (ReportBatchItemFailures).
 * `deadline` (shared with the Typesense port) is given each invocation's context. With
 * `metrics`, it publishes one tally per invocation (DocumentsImported/Deleted/Rejected, Failures).
 */
export function createIndexerHandler(deps: IndexerDeps & { readonly logger: Logger; readonly deadline?: InvocationDeadline; readonly metrics?: Metrics }) {
  const tally = new MetricTally(deps.metrics, ['DocumentsImported', 'DocumentsDeleted', 'DocumentsRejected']);
  const batchDeps: IndexerDeps = deps.metrics ? { ...deps, tally } : deps;
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    try {
      if (!Array.isArray(event?.Records)) {
        tally.fail('decode');
        throw new Error('event is not an SQS batch: it has no Records array');
      }
      if (context) deps.logger.addContext(context);
      if (deps.deadline) deps.deadline.context = context;
      const outcome = await indexBatch(batchDeps, event.Records).catch((error: unknown) => {
        tally.fail(failureKindOf(error));
        throw batchFailed(deps.logger, event.Records, error);
      });
      tally.count('DocumentsImported', outcome.upserted);
      tally.count('DocumentsDeleted', outcome.deleted);
      tally.count('DocumentsRejected', outcome.rejected);
      return outcome.response;
    } finally {
      if (deps.deadline) deps.deadline.context = undefined;
      tally.publish();
    }
  };
}
