import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StreamChange } from '../shared/decode';
import { ChangeFailedError, StreamRecordError, type RecordRef } from '../shared/errors';
import { ruleMatches } from '../shared/key-rules';
import { createStreamHandler, type Subsystem } from '../shared/runner';
import { entityOfChange, recordRef } from './entity';
import { imagePartitionKey, type ImageEntity } from './keys';
import { IMAGE_KEY_RULES } from './ownership';
import { decide, type Action } from './reconcile';
import { ImageRepository, isConditionalCheckFailed } from './repository';

export interface ImageSyncDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly logger: Logger;
  /** Source of the pointer's `updated_at` (ISO-8601); inject a fixed clock in tests. */
  readonly clock?: () => Date;
  /** Read-decide-write rounds per entity before giving up when racing writers keep changing the pointer. */
  readonly maxAttempts?: number;
}

export const DEFAULT_MAX_ATTEMPTS = 5;

export interface ReconcileOutcome {
  readonly action: Action['kind'];
  /** Read-decide-write rounds used (more than 1 after a lost race). */
  readonly attempts: number;
}

/** The changes of one entity in a batch, in stream order. */
interface EntityGroup {
  readonly pk: string;
  readonly entity: ImageEntity;
  /** Position (in the batch given to apply) of this entity's earliest change. */
  readonly firstPosition: number;
  readonly changes: StreamChange[];
}

/**
 * Reconciles one entity's pointer: read state (consistent), decide, write conditionally. A
 * lost race (the pointer changed since it was read) means read and decide again; after
 * `maxAttempts` rounds it fails loudly, naming `ref`.
 */
export async function reconcileEntity(
  repository: ImageRepository,
  entity: ImageEntity,
  ref: RecordRef,
  options: { clock: () => Date; maxAttempts: number; logger: Logger },
): Promise<ReconcileOutcome> {
  const pk = imagePartitionKey(entity);
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    const state = await repository.readState(entity);
    const action = decide(state);
    if (action.kind === 'none') {
      options.logger.debug('default image in sync', { pk, reason: action.reason, attempt });
      return { action: action.kind, attempts: attempt };
    }
    try {
      await repository.execute(entity, action, options.clock().toISOString());
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      options.logger.warn('default pointer changed while reconciling; re-reading', { pk, action: action.kind, attempt });
      continue;
    }
    options.logger.info('default image reconciled', {
      pk,
      action: action.kind,
      imageSk: action.kind === 'delete' ? undefined : action.image.SK,
      ...(action.kind === 'repair' && { fields: action.fields }),
      attempt,
    });
    return { action: action.kind, attempts: attempt };
  }
  throw new StreamRecordError(
    ref,
    `default image pointer of ${pk} kept changing while being reconciled: gave up after ${options.maxAttempts} attempts`,
  );
}

/**
 * The image-sync subsystem. Owns image rows (IMAGE_KEY_RULES); for each batch it reconciles
 * every affected entity once (state-based coalescing), in order of each entity's first change.
 * Reads no environment: callers (index.ts, the local pipeline, tests) pass their client.
 */
export function createImageSubsystem(deps: ImageSyncDeps): Subsystem {
  const repository = new ImageRepository(deps.doc, deps.tableName);
  const clock = deps.clock ?? (() => new Date());
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const { logger } = deps;

  return {
    name: 'image-sync',
    owns: (keys) => IMAGE_KEY_RULES.some((rule) => ruleMatches(rule, keys)),

    async apply(changes) {
      // Group by entity. Stop at the first change whose entity cannot be derived: only the
      // changes before it must take effect now; it and everything after it are retried.
      const groups = new Map<string, EntityGroup>();
      let invalid: { position: number; error: unknown } | undefined;
      for (const [position, change] of changes.entries()) {
        let entity: ImageEntity;
        try {
          entity = entityOfChange(change);
        } catch (error) {
          invalid = { position, error };
          break;
        }
        const pk = imagePartitionKey(entity);
        const group = groups.get(pk);
        if (group) group.changes.push(change);
        else groups.set(pk, { pk, entity, firstPosition: position, changes: [change] });
      }

      // Coalescing is safe because reconciliation is state-based: it reads the table as it is
      // now, which already reflects every change of the batch (stream records describe writes
      // that happened), so one reconcile per entity has the effect of one per change.
      // Entities go in order of first appearance, so when one fails, every change before its
      // earliest change belongs to an entity already reconciled; reporting that earliest
      // position makes Lambda resume there. Changes after it whose entity did succeed are
      // replayed and reconciled again, which is harmless: the state is already true, so the
      // second round reads, decides "none" and writes nothing.
      for (const group of groups.values()) {
        const first = group.changes[0]!;
        try {
          await reconcileEntity(repository, group.entity, recordRef(first), { clock, maxAttempts, logger });
        } catch (error) {
          const named =
            error instanceof StreamRecordError
              ? error
              : new StreamRecordError(recordRef(first), `reconciling the default image of ${group.pk} failed: ${errorMessage(error)}`, {
                  cause: error,
                });
          throw new ChangeFailedError(group.firstPosition, named);
        }
      }

      if (invalid) throw new ChangeFailedError(invalid.position, invalid.error);
    },
  };
}

/** The Lambda handler over an image-sync subsystem built from `deps`. */
export function createImageHandler(deps: ImageSyncDeps) {
  return createStreamHandler(createImageSubsystem(deps), deps.logger);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
