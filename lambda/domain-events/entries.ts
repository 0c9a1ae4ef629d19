/**
 * PutEvents entries and calls, as pure data: the entry of one change, its size as EventBridge
 * counts it, the reference fallback for an entry over the size limit, and the split of a
 * batch's entries into calls that respect PutEvents' limits and keep each item's order.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { RecordRef } from '../shared/errors';
import { StreamRecordError } from '../shared/errors';
import { classified } from '../shared/metrics';
import { withoutState, type DomainEventDetail } from './detail';

/** PutEvents takes at most 10 entries per request (API reference: Entries, array members 1..10). */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * The total entry size of one PutEvents request must be less than 1 MB (PutEvents API
 * reference, raised from 256 KB in January 2026). 1 MB is read as 1,000,000 bytes, the
 * stricter of its two readings; buses still at 256 KB take `maxRequestBytes: 262144`.
 */
export const PUT_EVENTS_MAX_BYTES = 1_000_000;

/** EventBridge counts `Time` as 14 bytes whatever its value ("Calculating PutEvents event entry size"). */
const TIME_BYTES = 14;

const utf8 = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));

/** The entry size as EventBridge calculates it: Time 14, Source, DetailType, Detail and each Resources entry in UTF-8 bytes. */
export function entrySize(entry: PutEventsRequestEntry): number {
  return (
    (entry.Time !== undefined ? TIME_BYTES : 0) +
    utf8(entry.Source) +
    utf8(entry.DetailType) +
    utf8(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, r) => sum + utf8(r), 0)
  );
}

/** One entry ready to send, tied to the change (position in the runner's list) it came from. */
export interface OutgoingEvent {
  readonly position: number;
  readonly ref: RecordRef;
  /** PK + SK: a call holds at most one entry per item. */
  readonly item: string;
  readonly entry: PutEventsRequestEntry;
  readonly bytes: number;
  /** The state was left out for size (detail.stateOmitted). */
  readonly reference: boolean;
}

export interface EntryTarget {
  /** Bus name or ARN (EventBusName). */
  readonly eventBusName: string;
  readonly source: string;
}

/**
 * The entry of one change. Over `maxBytes` with its state, it goes with a reference instead
 * (detail.stateOmitted, the keys and table stay): never dropped. A reference that is still
 * too large (it cannot be, with DynamoDB's key limits) is an error naming the record.
 */
export function outgoingEvent(
  detail: DomainEventDetail,
  detailType: string,
  position: number,
  target: EntryTarget,
  maxBytes: number = PUT_EVENTS_MAX_BYTES,
): OutgoingEvent {
  const ref: RecordRef = { eventID: detail.eventID, pk: detail.keys.PK, sk: detail.keys.SK };
  const entryOf = (d: DomainEventDetail): PutEventsRequestEntry => ({
    EventBusName: target.eventBusName,
    Source: target.source,
    DetailType: detailType,
    Detail: JSON.stringify(d),
    Time: new Date(Math.floor(d.changeTimeMicros / 1000)),
  });
  const full = entryOf(detail);
  const fullBytes = entrySize(full);
  const item = `${detail.keys.PK}\u0000${detail.keys.SK}`;
  if (fullBytes < maxBytes) return { position, ref, item, entry: full, bytes: fullBytes, reference: false };
  const slim = entryOf(withoutState(detail, fullBytes, maxBytes));
  const slimBytes = entrySize(slim);
  if (slimBytes >= maxBytes) {
    throw classified(new StreamRecordError(ref, `the event is ${slimBytes} bytes even without its state, over the PutEvents limit of ${maxBytes}`), 'rejected');
  }
  return { position, ref, item, entry: slim, bytes: slimBytes, reference: true };
}

export interface CallLimits {
  readonly maxEntries: number;
  /** The total entry size of a call stays below this. */
  readonly maxBytes: number;
}

export const DEFAULT_CALL_LIMITS: CallLimits = { maxEntries: PUT_EVENTS_MAX_ENTRIES, maxBytes: PUT_EVENTS_MAX_BYTES };

/**
 * Splits entries (in change order) into PutEvents calls. Each call takes, in order, the earliest
 * entries not yet planned, at most one per item and none of an item whose earlier entry is still
 * waiting, up to `maxEntries` and below `maxBytes` in total. So an item's changes go out in
 * order, one per call, and a batch of many items needs about max(changes per item, entries / 10)
 * calls, not one per change. A call may hold an entry whose position is later than one left for
 * a later call (another item's): publishCalls reports a failure at the earliest position not
 * yet accepted, so "every change before it took effect" still holds. Pure.
 */
export function planCalls(events: readonly OutgoingEvent[], limits: CallLimits = DEFAULT_CALL_LIMITS): OutgoingEvent[][] {
  const calls: OutgoingEvent[][] = [];
  let remaining = [...events];
  while (remaining.length > 0) {
    const call: OutgoingEvent[] = [];
    const waiting: OutgoingEvent[] = [];
    // Items in this call, and items with an entry left for a later call: neither may take another entry now.
    const taken = new Set<string>();
    let bytes = 0;
    for (const event of remaining) {
      const fits = call.length < limits.maxEntries && (call.length === 0 || bytes + event.bytes < limits.maxBytes);
      if (fits && !taken.has(event.item)) {
        call.push(event);
        bytes += event.bytes;
      } else {
        waiting.push(event);
      }
      taken.add(event.item);
    }
    calls.push(call);
    remaining = waiting;
  }
  return calls;
}
