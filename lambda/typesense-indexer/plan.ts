/**
 * The indexer's batch logic, pure: which documents a batch touches (collapsed), and which
 * messages to report as failed given which messages and documents failed.
 */
import type { RowKeys } from '../shared/key-rules';
import type { IndexedSpec } from '../typesense-sync/specs';
import type { ParsedTrigger } from './message';

export interface BatchMessage {
  readonly messageId: string;
  readonly groupId: string;
  /** The parsed trigger, or the error that made it unusable. */
  readonly trigger: ParsedTrigger | { readonly error: Error };
}

/** One document to reconcile, with the messages (indexes in the batch) that asked for it. */
export interface DocumentTarget {
  readonly collection: string;
  readonly id: string;
  readonly key: RowKeys;
  readonly spec: IndexedSpec;
  readonly messages: number[];
}

export const documentKey = (collection: string, id: string): string => `${collection}\u0000${id}`;

/**
 * Collapses the batch's triggers per (collection, id), in order of first appearance: several
 * triggers for one document cost one read and one write. Messages of a group after a bad
 * message are left out: they fail with it (FIFO), so reconciling for them would be wasted.
 */
export function collapse(batch: readonly BatchMessage[]): DocumentTarget[] {
  const blocked = new Set<string>();
  const targets = new Map<string, DocumentTarget>();
  batch.forEach((m, index) => {
    if (blocked.has(m.groupId)) return;
    if ('error' in m.trigger) {
      blocked.add(m.groupId);
      return;
    }
    const { message, key, spec } = m.trigger;
    const k = documentKey(message.collection, message.id);
    const target = targets.get(k) ?? { collection: message.collection, id: message.id, key, spec, messages: [] };
    target.messages.push(index);
    targets.set(k, target);
  });
  return [...targets.values()];
}

/**
 * The messages to report in batchItemFailures: every message that failed (bad body, or its
 * document failed) and every later message of the same group in the batch, because Lambda's
 * FIFO source must not let a later message of a group succeed after an earlier one failed.
 * Other groups are unaffected. In batch order.
 */
export function failedMessages(batch: readonly BatchMessage[], failed: ReadonlySet<number>): string[] {
  const stopped = new Set<string>();
  const out: string[] = [];
  batch.forEach((m, index) => {
    if (stopped.has(m.groupId) || failed.has(index)) {
      stopped.add(m.groupId);
      out.push(m.messageId);
    }
  });
  return out;
}
