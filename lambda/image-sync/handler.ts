import { ruleMatches, type RowKeys } from '../shared/key-rules';
import { createStreamHandler, reconcilerSubsystem, type Subsystem } from '../shared/runner';
import { IMAGE_KEY_RULES } from './ownership';
import { createImageReconciler, type ImageSyncDeps } from './reconciler';

export { DEFAULT_MAX_ATTEMPTS, createImageReconciler, type ImageAction, type ImageSyncDeps, type ImageSyncHooks } from './reconciler';

/** The stream owns image rows only (the pointer row is image-sync's own write and matches no filter). */
export const ownsImageRow = (keys: RowKeys): boolean => IMAGE_KEY_RULES.some((rule) => ruleMatches(rule, keys));

/**
 * The image-sync subsystem for the ordered stream runner: each owned record is a trigger for
 * its key (decoded keys-only, so a REMOVE without OldImage works), reconciled by the same path
 * the ops tools use.
 */
export function createImageSubsystem(deps: ImageSyncDeps): Subsystem {
  return reconcilerSubsystem(createImageReconciler(deps), ownsImageRow);
}

/** The Lambda handler over an image-sync subsystem built from `deps`. */
export function createImageHandler(deps: ImageSyncDeps) {
  return createStreamHandler(createImageSubsystem(deps), deps.logger);
}
