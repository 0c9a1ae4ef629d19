/**
 * A backfill's checkpoint file: where each scan segment stands, every key that failed and
 * has not reconciled since (so a resumed run retries them first and never drops one), what
 * the run covers (its scope: a resume with other options is refused), and, with --takeover,
 * where the release's own scan stands. Written atomically after each page, so a kill leaves
 * the old or the new state, never half; the position of a page and the keys that failed in
 * it land in the same write.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SUBSYSTEM_NAMES, type SubsystemName } from '../lambda/subsystems';
import { UsageError, writeFileAtomic } from './common';
import type { KeyFailure } from './reconcile';
import type { Position } from './scan';

/** What a run scans and does; resuming with any other value would skip or mix work. */
export interface BackfillScope {
  readonly subsystems: readonly SubsystemName[];
  readonly takeover: boolean;
}

interface CheckpointJson {
  readonly version: 2;
  readonly table: string;
  readonly segments: number;
  readonly run: string;
  readonly scope: BackfillScope;
  readonly positions: Position[];
  readonly failed: KeyFailure[];
  /** The takeover release's scan positions, once it started. */
  readonly release?: Position[];
}

const failureId = (f: Pick<KeyFailure, 'subsystem' | 'pk' | 'sk'>) => `${f.subsystem}\u0000${f.pk}\u0000${f.sk}`;
/** Subsystems in their canonical order, so that the same set compares equal however it was typed. */
const canonical = (names: readonly SubsystemName[]) => SUBSYSTEM_NAMES.filter((n) => names.includes(n));
const fresh = (segments: number): Position[] => Array.from({ length: segments }, () => null);

export class Checkpoint {
  /** The run that started this pass (a resumed run keeps the first run's id in the file). */
  readonly run: string;
  readonly positions: Position[];
  release: Position[] | undefined;
  private readonly failures: Map<string, KeyFailure>;
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string | undefined,
    private readonly header: { readonly table: string; readonly segments: number; readonly scope: BackfillScope },
    state: { run: string; positions: Position[]; failed: readonly KeyFailure[]; release?: Position[] },
    /** True when the state came from an existing file. */
    readonly resumed: boolean,
  ) {
    this.run = state.run;
    this.positions = state.positions;
    this.release = state.release;
    this.failures = new Map(state.failed.map((f) => [failureId(f), f]));
  }

  /** Without a file: the same bookkeeping in memory only. With one: resumes it, or starts it when absent. */
  static open(file: string | undefined, header: { table: string; segments: number; scope: BackfillScope }, run: string): Checkpoint {
    const scope = { subsystems: canonical(header.scope.subsystems), takeover: header.scope.takeover };
    const start = { run, positions: fresh(header.segments), failed: [] };
    if (!file || !existsSync(file)) return new Checkpoint(file, { ...header, scope }, start, false);
    const saved = readCheckpoint(file);
    const redo = `; resume with the same value, or delete ${file} to start over`;
    if (saved.table !== header.table) throw new UsageError(`checkpoint ${file} belongs to table ${saved.table}, not ${header.table}; delete it to start over`);
    if (saved.segments !== header.segments) throw new UsageError(`checkpoint ${file} was written with --segments ${saved.segments}${redo}`);
    if (canonical(saved.scope.subsystems).join(',') !== scope.subsystems.join(',')) {
      throw new UsageError(`checkpoint ${file} was written with --subsystems ${canonical(saved.scope.subsystems).join(',')}${redo}`);
    }
    if (saved.scope.takeover !== scope.takeover) throw new UsageError(`checkpoint ${file} was written ${saved.scope.takeover ? 'with' : 'without'} --takeover${redo}`);
    return new Checkpoint(file, { ...header, scope }, { run: saved.run, positions: saved.positions, failed: saved.failed, ...(saved.release && { release: saved.release }) }, true);
  }

  /** Every key that failed and has not reconciled since, in the order they failed. */
  failed(): KeyFailure[] {
    return [...this.failures.values()];
  }

  get failedCount(): number {
    return this.failures.size;
  }

  recordFailures(failures: readonly KeyFailure[]): void {
    for (const f of failures) {
      this.failures.delete(failureId(f)); // re-inserted last, with the latest error
      this.failures.set(failureId(f), f);
    }
  }

  /** A key that reconciled (retried): it no longer counts as failed. */
  clearFailure(f: Pick<KeyFailure, 'subsystem' | 'pk' | 'sk'>): void {
    this.failures.delete(failureId(f));
  }

  /** Writes the current state; writes are chained so the file always ends with the latest one. */
  save(): Promise<void> {
    if (!this.file) return Promise.resolve();
    const json: CheckpointJson = {
      version: 2,
      table: this.header.table,
      segments: this.header.segments,
      run: this.run,
      scope: this.header.scope,
      positions: [...this.positions],
      failed: this.failed(),
      ...(this.release && { release: [...this.release] }),
    };
    const file = this.file;
    this.saving = this.saving.then(() => writeFileAtomic(file, `${JSON.stringify(json)}\n`));
    return this.saving;
  }
}

function readCheckpoint(file: string): CheckpointJson {
  let parsed: Omit<Partial<CheckpointJson>, 'version'> & { version?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as typeof parsed;
  } catch (error) {
    throw new UsageError(`checkpoint ${file} is not valid JSON (${(error as Error).message}); delete it to start over`);
  }
  if (parsed?.version === 1) {
    throw new UsageError(`checkpoint ${file} was written by ddb-stream-fanout 0.2.0, which did not record failed keys; delete it and run the backfill again`);
  }
  const ok =
    parsed?.version === 2 &&
    typeof parsed.table === 'string' &&
    typeof parsed.run === 'string' &&
    Array.isArray(parsed.positions) &&
    parsed.positions.length === parsed.segments &&
    Array.isArray(parsed.failed) &&
    Array.isArray(parsed.scope?.subsystems) &&
    typeof parsed.scope?.takeover === 'boolean' &&
    (parsed.release === undefined || (Array.isArray(parsed.release) && parsed.release.length === parsed.segments));
  if (!ok) throw new UsageError(`checkpoint ${file} is not a backfill checkpoint; delete it to start over`);
  return parsed as CheckpointJson;
}
