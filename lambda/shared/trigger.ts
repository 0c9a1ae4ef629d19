/**
 * Triggers (docs/architecture.md, level-triggered): a stream record, a backfill, an audit repair and a redrive all
 * produce the same thing, a row key to reconcile, plus where it came from. The origin is
 * for logs and for the search queue's deduplication id; no reconcile path ever reads it
 * as the truth.
 */
import type { StreamChange } from './decode';
import { ChangeFailedError } from './errors';
import type { RowKeys } from './key-rules';

export type ToolOriginKind = 'backfill' | 'repair' | 'redrive';

export type TriggerOrigin =
  | {
      readonly kind: 'stream';
      readonly eventID: string;
      readonly sequenceNumber: string;
      /** Epoch seconds, as the stream gives it; null when the record has none. */
      readonly approximateCreationDateTime: number | null;
    }
  | {
      readonly kind: ToolOriginKind;
      /** Identifies one run of the tool (e.g. `backfill-2026-11-23T10:00:00Z`). */
      readonly run: string;
    };

export interface Trigger {
  readonly key: RowKeys;
  readonly origin: TriggerOrigin;
}

/** The trigger a stream record carries: its key and its position in the stream. */
export function streamTrigger(change: StreamChange): Trigger {
  return {
    key: change.keys,
    origin: {
      kind: 'stream',
      eventID: change.eventID,
      sequenceNumber: change.sequenceNumber,
      approximateCreationDateTime: change.approximateCreationDateTime ?? null,
    },
  };
}

/** Triggers for a tool run: every key gets the same origin. */
export function toolTriggers(keys: readonly RowKeys[], kind: ToolOriginKind, run: string): Trigger[] {
  return keys.map((key) => ({ key, origin: { kind, run } }));
}

/** What reconciling one key did. */
export interface KeyResult {
  readonly key: RowKeys;
  /** Subsystem-specific name of what was done (e.g. `none`, `create`, `move`, `sent`). */
  readonly action: string;
  /** False when the derived state already matched the truth and nothing was written. */
  readonly changed: boolean;
}

/**
 * One subsystem's reconcile path, shared by its Lambda handler and every tool.
 *
 * `reconcile(triggers)` reconciles each distinct key once (duplicates in one call are
 * collapsed onto their first occurrence), reading the truth and writing only the
 * difference. It stops at the first key that fails: it then throws
 * `ChangeFailedError(position)`, where `position` is the index in `triggers` of that key's
 * first occurrence; every key whose first occurrence is before it took effect.
 */
export interface Reconciler {
  readonly name: string;
  /** Keys this path can reconcile; tools skip (and report) any other key. */
  accepts(key: RowKeys): boolean;
  reconcile(triggers: readonly Trigger[]): Promise<KeyResult[]>;
}

const keyId = (key: RowKeys): string => `${key.PK}\u0000${key.SK}`;

/** Distinct keys in order of first appearance, each with the position of that first appearance. */
export function distinctTriggers(triggers: readonly Trigger[]): { trigger: Trigger; position: number }[] {
  const seen = new Set<string>();
  const out: { trigger: Trigger; position: number }[] = [];
  for (const [position, trigger] of triggers.entries()) {
    const id = keyId(trigger.key);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ trigger, position });
  }
  return out;
}

/**
 * For reconcilers that handle one key at a time: each distinct key once, in order, stopping
 * at the first failure with the position of its first occurrence.
 */
export async function reconcileEach(
  triggers: readonly Trigger[],
  one: (trigger: Trigger) => Promise<KeyResult>,
): Promise<KeyResult[]> {
  const results: KeyResult[] = [];
  for (const { trigger, position } of distinctTriggers(triggers)) {
    try {
      results.push(await one(trigger));
    } catch (error) {
      throw new ChangeFailedError(position, error);
    }
  }
  return results;
}
