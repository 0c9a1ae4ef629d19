/**
 * The functions' custom metrics (Powertools Metrics: CloudWatch EMF lines on stdout, no API
 * calls). Namespace `StreamFanout` (POWERTOOLS_METRICS_NAMESPACE, set by the stack), dimension
 * `service` = POWERTOOLS_SERVICE_NAME. lib/dashboard.ts graphs exactly these names.
 *
 * Each function's index.ts creates one Metrics at module scope and hands it to its handler
 * factory; the factory wraps it in a MetricTally that the runner, the reconciler and the
 * adapters count into. Counting is in memory only; the handler publishes the tally once at
 * the end of every invocation, failed ones included. A factory given no Metrics (the local
 * pipeline, tests, the ops tools) counts nothing and prints nothing.
 *
 * The ColdStart metric stays off: it would be another metric (with a function_name dimension)
 * that nothing graphs; Lambda's REPORT lines already carry each cold start's Init Duration.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { safeError } from './safe-error';
import { DEFAULT_METRICS_NAMESPACE, FRESHNESS_METRIC, type CountMetric, type FailureKind } from './metric-names';

export * from './metric-names';

/** The Powertools Metrics of one function, for its index.ts (module scope). */
export function createMetrics(service: string): Metrics {
  return new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || DEFAULT_METRICS_NAMESPACE,
    serviceName: process.env.POWERTOOLS_SERVICE_NAME || service,
  });
}

const failureKinds = new WeakMap<object, FailureKind>();

/** Marks `error` with the Failures kind it stands for; returns it (for `throw classified(...)`). */
export function classified<E>(error: E, kind: FailureKind): E {
  if (typeof error === 'object' && error !== null) failureKinds.set(error, kind);
  return error;
}

/** The kind marked on `error` or on an error in its `cause` chain; `fallback` when none is. */
export function failureKindOf(error: unknown, fallback: FailureKind = 'fatal'): FailureKind {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const kind = failureKinds.get(e);
    if (kind) return kind;
  }
  return fallback;
}

/**
 * One invocation's counts. `count` and `fail` only add to numbers; `publish` writes them as one
 * EMF line (plus one line per failure kind seen, since `kind` is a dimension the other metrics
 * do not have) and starts over. The metrics named in `emits` are published every invocation,
 * zeros included, so each function's graphs have no gaps. Without a Metrics it does nothing.
 */
export class MetricTally {
  private counts: Partial<Record<CountMetric, number>>;
  private failures: Partial<Record<FailureKind, number>> = {};
  private freshness: number[] = [];

  constructor(
    private readonly metrics?: Metrics,
    private readonly emits: readonly CountMetric[] = [],
  ) {
    this.counts = this.zeros();
  }

  private zeros(): Partial<Record<CountMetric, number>> {
    const counts: Partial<Record<CountMetric, number>> = {};
    for (const name of this.emits) counts[name] = 0;
    return counts;
  }

  count(name: CountMetric, value = 1): void {
    if (this.metrics) this.counts[name] = (this.counts[name] ?? 0) + value;
  }

  fail(kind: FailureKind, value = 1): void {
    if (this.metrics) this.failures[kind] = (this.failures[kind] ?? 0) + value;
  }

  /**
   * Freshness of changes that just took effect: `now` minus each change time (epoch seconds, as
   * the record gives it; fractions kept). A change without a time is not measured.
   */
  applied(changeTimesSeconds: readonly (number | undefined)[], now: number = Date.now()): void {
    if (!this.metrics) return;
    for (const seconds of changeTimesSeconds) if (seconds !== undefined) this.freshness.push(Math.max(0, now - seconds * 1000));
  }

  /** Publishes and clears this invocation's counts; never throws (metrics must not fail a batch). */
  publish(): void {
    const { metrics, counts, failures, freshness } = this;
    if (!metrics) return;
    this.counts = this.zeros();
    this.failures = {};
    this.freshness = [];
    try {
      let any = false;
      for (const [name, value] of Object.entries(counts)) {
        metrics.addMetric(name, MetricUnit.Count, value);
        any = true;
      }
      // One value per change: the line carries them as an array (Powertools starts a new line at 100).
      for (const value of freshness) {
        metrics.addMetric(FRESHNESS_METRIC, MetricUnit.Milliseconds, Math.round(value));
        any = true;
      }
      if (any) metrics.publishStoredMetrics();
      for (const [kind, value] of Object.entries(failures)) {
        // A single-metric instance prints its line as soon as the metric is added.
        metrics.singleMetric().addDimension('kind', kind).addMetric('Failures', MetricUnit.Count, value);
      }
    } catch (error) {
      metrics.clearMetrics();
      // Only the safe shape: a metrics error never carries a row, but nothing unchecked is printed.
      const safe = safeError(error);
      console.error(`metrics not published: ${safe.name}: ${safe.message}`);
    }
  }
}
