import type { Metrics } from '@aws-lambda-powertools/metrics';
import { ruleMatches, type RowKeys } from '../shared/key-rules';
import { MetricTally, STREAM_METRICS } from '../shared/metrics';
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
  return reconcilerSubsystem(createImageReconciler(deps), ownsImageRow, deps.tally);
}

/** The Lambda handler over an image-sync subsystem built from `deps`; with `metrics`, it publishes one tally per invocation. */
export function createImageHandler(deps: ImageSyncDeps & { readonly metrics?: Metrics }) {
  const tally = new MetricTally(deps.metrics, [...STREAM_METRICS, 'PointersWritten', 'ConditionalRetries', 'ReconcileNoops']);
  return createStreamHandler(createImageSubsystem({ ...deps, tally }), deps.logger, tally);
}
