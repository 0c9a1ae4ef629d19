import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricTally, STREAM_METRICS } from '../shared/metrics';
import { createStreamHandler, reconcilerSubsystem } from '../shared/runner';
import { acceptsLink, createMatcherReconciler, type MatcherDeps } from './reconcile';

export { SUBSYSTEM_NAME, createMatcherReconciler, type MatcherDeps } from './reconcile';

/**
 * The Lambda handler: the shared ordered runner around the matcher's reconcile path. Each owned
 * stream record is a trigger for its link key (decoded keys-only: the images are never read).
 */
export function createMatcherHandler(deps: MatcherDeps & { readonly metrics?: Metrics }) {
  const tally = new MetricTally(deps.metrics, [...STREAM_METRICS, 'TuplesWritten', 'ConditionalRetries', 'ReconcileNoops']);
  return createStreamHandler(reconcilerSubsystem(createMatcherReconciler({ ...deps, tally }), acceptsLink, tally), deps.logger, tally);
}
