/**
 * image-sync's one reconcile path, shared by the Lambda handler and the ops tools:
 * a trigger names an image or pointer key; the entity comes from the key; the truth is read
 * from the table; the pointer is written only when it differs, conditioned on the pointer and
 * the source image as read.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ChangeFailedError, StreamRecordError, type RecordRef } from '../shared/errors';
import { classified, MetricTally } from '../shared/metrics';
import { safeError, safeReason } from '../shared/safe-error';
import { distinctTriggers, type KeyResult, type Reconciler, type Trigger } from '../shared/trigger';
import { entityOfKey, isImageSyncKey, triggerRef } from './entity';
import { imagePartitionKey, type ImageEntity } from './keys';
import { decide, type Action, type ReconcileState } from './reconcile';
import { ImageRepository, TRANSACTION_ITEMS } from './repository';
import { DEFAULT_BACKOFF, backoffDelay, classifyWriteError, realSleep, type BackoffPolicy } from './retry';

export interface ImageSyncHooks {
  /** Runs after each round's reads, before its decision is written (tests pause a reconcile here). */
  readonly afterRead?: (entityPk: string, state: ReconcileState) => Promise<void>;
}

export interface ImageSyncDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly logger: Logger;
  /** Source of the pointer's `updated_at` (ISO-8601); inject a fixed clock in tests. */
  readonly clock?: () => Date;
  /** Read-decide-write rounds per entity lost to a changed pointer or image before the key fails. */
  readonly maxAttempts?: number;
  /** Backoff after transaction conflicts and throttling. */
  readonly backoff?: BackoffPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly hooks?: ImageSyncHooks;
  /** Counts PointersWritten and ConditionalRetries (the handler factory publishes it). */
  readonly tally?: MetricTally;
}

export const DEFAULT_MAX_ATTEMPTS = 5;

export type ImageAction = Action['kind'];

export interface ReconcileOutcome {
  readonly action: ImageAction;
  /** Read-decide-write rounds used (more than 1 after a lost race or a transient failure). */
  readonly attempts: number;
}

interface RoundOptions {
  readonly clock: () => Date;
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  readonly sleep: (ms: number) => Promise<void>;
  readonly logger: Logger;
  readonly hooks: ImageSyncHooks;
  readonly tally: MetricTally;
}

/**
 * Reconciles one entity's pointer: read (consistent), decide, write conditionally. A lost race
 * (pointer or source image changed since the read) means read and decide again, at most
 * `maxAttempts` times; a transient failure backs off first. Gives up loudly, naming `ref`.
 */
export async function reconcileEntity(repository: ImageRepository, entity: ImageEntity, ref: RecordRef, options: RoundOptions): Promise<ReconcileOutcome> {
  const pk = imagePartitionKey(entity);
  let lost = 0;
  let retries = 0;
  for (let attempt = 1; ; attempt++) {
    const state = await repository.readState(entity);
    await options.hooks.afterRead?.(pk, state);
    const action = decide(state);
    if (action.kind === 'none') {
      options.logger.debug('default image in sync', { pk, reason: action.reason, attempt });
      return { action: action.kind, attempts: attempt };
    }
    try {
      await repository.execute(entity, action, options.clock().toISOString());
    } catch (error) {
      const failure = classifyWriteError(error);
      if (failure.kind === 'fatal') throw error;
      if (failure.kind === 'condition') {
        const changed = failure.failed.map((i) => TRANSACTION_ITEMS[i] ?? `item ${i}`);
        options.logger.warn('default image changed while reconciling; re-reading', { pk, action: action.kind, changed, attempt });
        if (++lost >= options.maxAttempts) {
          throw classified(new StreamRecordError(ref, `default image of ${pk} kept changing while being reconciled: gave up after ${lost} attempts`), 'condition-exhausted');
        }
        options.tally.count('ConditionalRetries');
        continue;
      }
      if (++retries > options.backoff.retries) {
        const message = `writing the default image of ${pk} still fails with ${failure.code} after ${options.backoff.retries} retries`;
        throw classified(new StreamRecordError(ref, message, { cause: safeError(error) }), 'throttled');
      }
      const delayMs = backoffDelay(retries, options.backoff);
      options.logger.warn('default image write contended; backing off', { pk, code: failure.code, delayMs, attempt });
      await options.sleep(delayMs);
      continue;
    }
    options.tally.count('PointersWritten');
    options.logger.info('default image reconciled', {
      pk,
      action: action.kind,
      imageSk: action.kind === 'delete' ? undefined : action.image.SK,
      ...(action.kind === 'repair' && { fields: action.fields }),
      attempt,
    });
    return { action: action.kind, attempts: attempt };
  }
}

/** The triggers of one entity in a call, in order. */
interface EntityGroup {
  readonly pk: string;
  readonly entity: ImageEntity;
  /** Position (in the triggers given to reconcile) of this entity's first trigger. */
  readonly firstPosition: number;
  readonly first: Trigger;
}

/**
 * The image-sync Reconciler. Per call it reconciles each entity once, however many of its keys
 * the call names (state-based coalescing), in order of each entity's first trigger. Every key
 * of an entity reports that entity's outcome. Reads no environment: callers pass their client.
 */
export function createImageReconciler(deps: ImageSyncDeps): Reconciler {
  const repository = new ImageRepository(deps.doc, deps.tableName);
  const options: RoundOptions = {
    clock: deps.clock ?? (() => new Date()),
    maxAttempts: deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    backoff: deps.backoff ?? DEFAULT_BACKOFF,
    sleep: deps.sleep ?? realSleep,
    logger: deps.logger,
    hooks: deps.hooks ?? {},
    tally: deps.tally ?? new MetricTally(),
  };

  return {
    name: 'image-sync',
    accepts: isImageSyncKey,

    async reconcile(triggers) {
      // Group by entity. Stop at the first key whose entity cannot be derived: only the
      // triggers before it must take effect now; it and everything after it are retried.
      const groups = new Map<string, EntityGroup>();
      let invalid: { position: number; error: unknown } | undefined;
      for (const [position, trigger] of triggers.entries()) {
        let entity: ImageEntity;
        try {
          entity = entityOfKey(trigger);
        } catch (error) {
          invalid = { position, error: classified(error, 'decode') };
          break;
        }
        const pk = imagePartitionKey(entity);
        if (!groups.has(pk)) groups.set(pk, { pk, entity, firstPosition: position, first: trigger });
      }

      // One reconcile per entity has the effect of one per trigger: it reads the table as it is
      // now, which reflects every write any of these triggers stands for. Entities go in order
      // of first trigger, so when one fails every trigger before its first belongs to an entity
      // already reconciled; a retry from there reconciles some entities again, which reads a
      // true state and writes nothing.
      const outcomes = new Map<string, ReconcileOutcome>();
      for (const group of groups.values()) {
        const ref = triggerRef(group.first);
        try {
          outcomes.set(group.pk, await reconcileEntity(repository, group.entity, ref, options));
        } catch (error) {
          const named =
            error instanceof StreamRecordError
              ? error
              : new StreamRecordError(ref, `reconciling the default image of ${group.pk} failed: ${safeReason(error)}`, { cause: safeError(error) });
          throw new ChangeFailedError(group.firstPosition, named);
        }
      }
      if (invalid) throw new ChangeFailedError(invalid.position, invalid.error);

      return distinctTriggers(triggers).map(({ trigger }): KeyResult => {
        const outcome = outcomes.get(trigger.key.PK)!;
        return { key: trigger.key, action: outcome.action, changed: outcome.action !== 'none' };
      });
    },
  };
}
