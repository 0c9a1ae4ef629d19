import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Item } from '../shared/decode';
import { AttributeError, COLLECTION_SCHEMAS, type SearchDocument } from '../typesense-sync/documents';
import { parseTrigger } from './message';
import { collapse, failedMessages, type BatchMessage, type DocumentTarget } from './plan';
import { DEFAULT_INDEXER_RETRY, type IndexerRetryPolicy, type InvocationDeadline } from './retry';
import { readRows, rowOf, type BatchGetter } from './rows';
import { CollectionMissingError, type SearchPort } from './search';

export type IndexerLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface IndexerDeps {
  readonly ddb: BatchGetter;
  readonly tableName: string;
  /** The Typesense port, or a function giving it (index.ts resolves the API key on first use). */
  readonly search: SearchPort | (() => Promise<SearchPort>);
  readonly logger: IndexerLog;
  readonly retry?: Partial<IndexerRetryPolicy>;
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

/**
 * The Typesense indexer (DESIGN §11), as a function of one SQS FIFO batch:
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
      logger.error('search trigger rejected; it and every later message of its group fail', { messageId: record.messageId, groupId, error: error as Error });
      return { messageId: record.messageId, groupId, trigger: { error: error as Error } };
    }
  });
  const failed = new Set<number>(batch.flatMap((m, i) => ('error' in m.trigger ? [i] : [])));
  const targets = collapse(batch);
  const failTarget = (target: DocumentTarget, why: string, error?: unknown) => {
    logger.error(`document failed: ${why}`, { ...describe(target), messageIds: target.messages.map((i) => batch[i]!.messageId), error: error as Error });
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
    for (const t of targets) failTarget(t, 'reading the row failed', error);
  }

  if (rows) {
    const search = typeof deps.search === 'function' ? await deps.search() : deps.search;
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
          failTarget(target, `the row cannot be projected (${error.message})`, error);
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
        await search.createCollection(schema);
        return call();
      }
    };

    for (const [collection, items] of upserts) {
      try {
        const results = await onceMore(collection, () => search.importUpsert(collection, items.map((i) => i.document)));
        results.forEach((result, n) => {
          if (result.success) {
            upserted += 1;
            tally(collection, 'upserted');
          } else {
            rejected += 1;
            tally(collection, 'rejected');
            failTarget(items[n]!.target, `Typesense rejected the document: ${result.error}`);
          }
        });
      } catch (error) {
        for (const { target } of items) failTarget(target, 'the import call failed', error);
      }
    }
    for (const target of deletes) {
      try {
        // A missing collection holds no document: the delete is done once it exists.
        const outcome = await onceMore(target.collection, () => search.deleteDocument(target.collection, target.id));
        if (outcome === 'deleted') {
          deleted += 1;
          tally(target.collection, 'deleted');
        }
      } catch (error) {
        failTarget(target, 'the delete call failed', error);
      }
    }
  }

  const failures = failedMessages(batch, failed);
  logger.info('search batch', { messages: records.length, documents: targets.length, upserted, deleted, rejected, failedMessages: failures.length });
  return { response: { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) }, documents: targets.length, upserted, deleted, rejected, byCollection };
}

/**
 * The Lambda handler on the search queue: partial batch responses (ReportBatchItemFailures).
 * `deadline` (shared with the Typesense port) is given each invocation's context.
 */
export function createIndexerHandler(deps: IndexerDeps & { readonly logger: Logger; readonly deadline?: InvocationDeadline }) {
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    if (!Array.isArray(event?.Records)) throw new Error('event is not an SQS batch: it has no Records array');
    if (context) deps.logger.addContext(context);
    if (deps.deadline) deps.deadline.context = context;
    try {
      return (await indexBatch(deps, event.Records)).response;
    } finally {
      if (deps.deadline) deps.deadline.context = undefined;
    }
  };
}
