import { StreamRecordError } from '../shared/errors';
import type { RowKeys } from '../shared/key-rules';
import { distinctTriggers, type KeyResult, type Reconciler, type Trigger } from '../shared/trigger';
import { SUBSYSTEM_NAME } from './handler';
import { outgoingMessage, refOfTrigger, type OutgoingMessage } from './messages';
import { triggerSending, type PlanFailure, type SendingDeps } from './sending';
import { matchIndexedSpec } from './specs';

export type SearchTriggerSenderDeps = SendingDeps;

/**
 * The search path's Reconciler for tools (backfill, audit repair, redrive).
 * A tool cannot see images, so there is nothing to skip: each distinct indexed key gets one
 * v2 trigger carrying the tool's origin, with hint 'upsert', which for a tool origin means
 * "unknown, read the row" (the indexer never trusts a hint). Same batching, ordering,
 * retry and partial-failure rules as the stream handler: `reconcile` throws
 * ChangeFailedError(position of the first trigger that did not land).
 */
export function createSearchTriggerSender(deps: SearchTriggerSenderDeps): Reconciler {
  const sending = triggerSending(deps);

  return {
    name: SUBSYSTEM_NAME,
    accepts: (key: RowKeys) => matchIndexedSpec(key) !== undefined,
    async reconcile(triggers: readonly Trigger[]): Promise<KeyResult[]> {
      const messages: OutgoingMessage[] = [];
      let planFailure: PlanFailure | undefined;
      for (const { trigger, position } of distinctTriggers(triggers)) {
        try {
          const spec = matchIndexedSpec(trigger.key);
          if (!spec) throw new StreamRecordError(refOfTrigger(trigger.key, trigger.origin), 'key is not indexed by any spec (check accepts() first)');
          const target = { collection: spec.collection, id: spec.documentId(trigger.key), key: trigger.key, hint: 'upsert' as const, origin: trigger.origin };
          messages.push(outgoingMessage(target, position, sending.maxMessageBytes));
        } catch (error) {
          planFailure = { position, error };
          break;
        }
      }
      await sending.send(messages, planFailure, { triggers: triggers.length });
      return messages.map((m) => ({ key: triggers[m.position]!.key, action: 'sent', changed: true }));
    },
  };
}
