/**
 * I6, domain events: every delivered change of an entity produced at least one event carrying
 * its eventID, and no event exists without such a change. Duplicates are fine (delivery is at
 * least once and consumers deduplicate on detail.eventID); a missing or invented event is not.
 *
 * "Of an entity": a change the domain-events subsystem publishes, by the same rule it applies
 * (lambda/domain-events/detail.ts, publishesEvent): every create and delete of an owned row
 * kind, and an update that changed one of the kind's attributes. Pure: the chaos test and the
 * local pipeline hand it the changes the mapping delivered and the events the bus received.
 */
import { CHANGE_KINDS, publishesEvent } from '../lambda/domain-events/detail';
import type { StreamChange } from '../lambda/shared/decode';
import { ROW_KIND_NAMES, rowKindOf, type RowKindName } from '../lambda/shared/row-kinds';

/** An event as the bus holds it: its detail type and the detail fields I6 reads. */
export interface PublishedEvent {
  readonly detailType: string;
  readonly detail: { readonly eventID: string; readonly keys: { readonly PK: string; readonly SK: string } };
}

export interface EventsFinding {
  readonly invariant: 'I6';
  /** eventID, PK and SK of the change or the event at fault. */
  readonly where: string;
  readonly problem: string;
}

export interface EventsAuditResult {
  readonly checked: {
    /** Distinct delivered changes that had to produce an event. */
    readonly changes: number;
    /** Events read (duplicates included). */
    readonly events: number;
    /** Events beyond the first for a change (at-least-once redeliveries). */
    readonly duplicates: number;
  };
  readonly findings: readonly EventsFinding[];
}

const where = (eventID: string, keys: { PK: string; SK: string }) => `eventID=${eventID} PK=${keys.PK} SK=${keys.SK}`;

/**
 * Checks I6 over `delivered` (the changes the mapping handed the function, duplicates allowed)
 * and `events` (everything the bus received). `rowKinds`: the kinds the subsystem was configured for.
 */
export function auditEvents(
  delivered: readonly StreamChange[],
  events: readonly PublishedEvent[],
  rowKinds: readonly RowKindName[] = ROW_KIND_NAMES,
): EventsAuditResult {
  const findings: EventsFinding[] = [];
  // eventID -> the change and its expected detail type (undefined: the change makes no event).
  const changes = new Map<string, { change: StreamChange; detailType?: string }>();
  for (const change of delivered) {
    if (changes.has(change.eventID)) continue;
    const kind = rowKindOf(change.keys, rowKinds);
    const publishes = kind !== undefined && publishesEvent(change, kind);
    changes.set(change.eventID, { change, ...(publishes && { detailType: `${kind.entity}.${CHANGE_KINDS[change.eventName]}` }) });
  }

  const seen = new Map<string, number>();
  for (const event of events) {
    const { eventID, keys } = event.detail;
    seen.set(eventID, (seen.get(eventID) ?? 0) + 1);
    const source = changes.get(eventID);
    if (!source) {
      findings.push({ invariant: 'I6', where: where(eventID, keys), problem: `event ${event.detailType} has no delivered change with its eventID` });
      continue;
    }
    const { change, detailType } = source;
    if (detailType === undefined) {
      findings.push({ invariant: 'I6', where: where(eventID, keys), problem: `event ${event.detailType} for a change that changes no entity (no event expected)` });
    } else if (event.detailType !== detailType || keys.PK !== change.keys.PK || keys.SK !== change.keys.SK) {
      findings.push({ invariant: 'I6', where: where(eventID, keys), problem: `event ${event.detailType} does not match its change (${detailType} of PK=${change.keys.PK} SK=${change.keys.SK})` });
    }
  }

  let expected = 0;
  for (const [eventID, { change, detailType }] of changes) {
    if (detailType === undefined) continue;
    expected += 1;
    if (!seen.has(eventID)) findings.push({ invariant: 'I6', where: where(eventID, change.keys), problem: `delivered change produced no ${detailType} event` });
  }
  const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
  return { checked: { changes: expected, events: events.length, duplicates }, findings };
}
