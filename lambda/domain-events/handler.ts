import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { RetryPolicy } from '../shared/backoff';
import type { StreamChange } from '../shared/decode';
import { ChangeFailedError } from '../shared/errors';
import type { RowKeys } from '../shared/key-rules';
import { classified, failureKindOf, MetricTally, STREAM_METRICS } from '../shared/metrics';
import { rowKindOf, type RowKindName } from '../shared/row-kinds';
import { createDeadlineAwareHandler, type Subsystem } from '../shared/runner';
import { buildDetail, detailType, publishesEvent } from './detail';
import { DEFAULT_CALL_LIMITS, outgoingEvent, planCalls, type CallLimits, type OutgoingEvent } from './entries';
import { DEFAULT_RETRY_POLICY, publishCalls, type EventsSender } from './publisher';

export const SUBSYSTEM_NAME = 'domain-events';

/** Time kept in hand at the deadline: one PutEvents request timeout (index.ts) plus 2 s. */
export const DEADLINE_MARGIN_MS = 7_000;

export interface DomainEventsConfig {
  /** The bus, by name or ARN (PutEvents' EventBusName). */
  readonly eventBusName: string;
  /** The events' `source`. */
  readonly source: string;
  /** The table the changes come from (detail.table). */
  readonly tableName: string;
  /** The row kinds that make events (the mapping's filters are derived from the same list). */
  readonly rowKinds: readonly RowKindName[];
  /** Include sensitive attributes in the states (a bus the team controls only). */
  readonly includeSensitive: boolean;
  /** The total entry size of a call stays below this (and so does each entry). */
  readonly maxRequestBytes: number;
}

export interface DomainEventsDeps extends DomainEventsConfig {
  readonly events: EventsSender;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn'>;
  readonly tally?: MetricTally;
  /** Overrides of the retry policy (tests inject `sleep`). */
  readonly retry?: Partial<RetryPolicy>;
  /** Milliseconds left in this invocation (the handler wires the Lambda context in). */
  readonly remainingMs?: () => number | undefined;
  readonly deadlineMarginMs?: number;
  /** At most this many entries per call (PutEvents' 10 when unset; the bench sets 1 for its baseline). */
  readonly maxEntriesPerCall?: number;
}

/**
 * domain-events as the shared runner sees it: owns the source row kinds it is configured for;
 * each change of an entity becomes one event (`<entity>.created|updated|deleted`), and a batch's
 * events go out in as few PutEvents calls as the limits allow, in change order.
 */
export function createDomainEventsSubsystem(deps: DomainEventsDeps): Subsystem {
  const limits: CallLimits = {
    maxEntries: Math.min(DEFAULT_CALL_LIMITS.maxEntries, deps.maxEntriesPerCall ?? DEFAULT_CALL_LIMITS.maxEntries),
    maxBytes: deps.maxRequestBytes,
  };
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const remaining = deps.remainingMs;
  const deadline = remaining && { remainingMs: () => remaining() ?? Number.POSITIVE_INFINITY, marginMs: deps.deadlineMarginMs ?? DEADLINE_MARGIN_MS };
  const target = { eventBusName: deps.eventBusName, source: deps.source };
  const detailOptions = { table: deps.tableName, includeSensitive: deps.includeSensitive };

  return {
    name: SUBSYSTEM_NAME,
    owns: (keys: RowKeys) => rowKindOf(keys, deps.rowKinds) !== undefined,
    async apply(changes: readonly StreamChange[]): Promise<void> {
      const events: OutgoingEvent[] = [];
      let planFailure: { position: number; error: unknown } | undefined;
      let unchanged = 0;
      for (const [position, change] of changes.entries()) {
        try {
          const kind = rowKindOf(change.keys, deps.rowKinds)!;
          if (!publishesEvent(change, kind)) {
            unchanged += 1;
            deps.logger.debug('no event: no attribute of the entity changed', { eventID: change.eventID, pk: change.keys.PK, sk: change.keys.SK });
            continue;
          }
          events.push(outgoingEvent(buildDetail(change, kind, detailOptions), detailType(kind, change), position, target, limits.maxBytes));
        } catch (error) {
          // Everything before this change is still published, so "all before `position` took effect" holds.
          planFailure = { position, error: classified(error, failureKindOf(error, 'decode')) };
          break;
        }
      }
      const calls = planCalls(events, limits);
      const references = events.filter((e) => e.reference).length;
      deps.logger.info('domain events', { changes: changes.length, events: events.length, unchanged, references, calls: calls.length });
      await publishCalls({ events: deps.events, policy, logger: deps.logger, tally: deps.tally, deadline }, calls);
      if (planFailure) throw new ChangeFailedError(planFailure.position, planFailure.error);
    },
  };
}

/**
 * The Lambda handler: the shared ordered runner around the subsystem, aware of the invocation's
 * deadline; with `metrics`, it publishes one tally per invocation.
 */
export function createDomainEventsHandler(deps: Omit<DomainEventsDeps, 'tally' | 'logger'> & { readonly logger: Logger; readonly metrics?: Metrics }) {
  const tally = new MetricTally(deps.metrics, [...STREAM_METRICS, 'EventsPublished', 'EventsFailed']);
  return createDeadlineAwareHandler((remainingMs) => createDomainEventsSubsystem({ ...deps, tally, remainingMs: deps.remainingMs ?? remainingMs }), deps.logger, tally);
}
