/**
 * A run's key counts, added up page by page in place (a run may see millions of keys; copying
 * the totals per page made it quadratic). Failures are all counted; the first `keep` are kept
 * by key for the report, and every one goes to `onFailure` (e.g. a file) when given.
 */
import type { SubsystemName } from '../lambda/subsystems';
import type { KeyFailure, ReconcilerSet, ReconcileTally, SubsystemTally } from './reconcile';

/** How many failed keys a report names; the rest are counted (and written to --failed-keys FILE when given). */
export const REPORTED_FAILURES = 100;

export interface KeyCounts {
  readonly seen: number;
  readonly subsystems: Partial<Record<SubsystemName, SubsystemTally>>;
  /** Every failure counted. */
  readonly failed: number;
  /** The first REPORTED_FAILURES failures, by key. */
  readonly failures: KeyFailure[];
}

export class Tally {
  private seen = 0;
  private failed = 0;
  private readonly subsystems: Partial<Record<SubsystemName, SubsystemTally>>;
  private readonly failures: KeyFailure[] = [];

  constructor(
    set: ReconcilerSet,
    private readonly keep = REPORTED_FAILURES,
    private readonly onFailure?: (failure: KeyFailure) => void,
  ) {
    this.subsystems = Object.fromEntries(Object.keys(set).map((n) => [n, { keys: 0, changed: 0, failed: 0 }]));
  }

  add(page: ReconcileTally): void {
    this.seen += page.seen;
    for (const [name, t] of Object.entries(page.subsystems) as [SubsystemName, SubsystemTally][]) {
      const into = (this.subsystems[name] ??= { keys: 0, changed: 0, failed: 0 });
      into.keys += t.keys;
      into.changed += t.changed;
      into.failed += t.failed;
    }
    for (const f of page.failures) {
      this.failed += 1;
      if (this.failures.length < this.keep) this.failures.push(f);
      this.onFailure?.(f);
    }
  }

  counts(): KeyCounts {
    return { seen: this.seen, subsystems: structuredClone(this.subsystems), failed: this.failed, failures: [...this.failures] };
  }
}
