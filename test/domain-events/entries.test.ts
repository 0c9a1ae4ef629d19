/**
 * Entries and calls: the entry size as EventBridge counts it, the reference for an entry over
 * the limit, and the split into calls (at most 10 entries, below the size limit, one entry per
 * item, each item's entries in order in successive calls).
 */
import fc from 'fast-check';
import { buildDetail, detailType } from '../../lambda/domain-events/detail';
import { entrySize, outgoingEvent, planCalls, PUT_EVENTS_MAX_BYTES, PUT_EVENTS_MAX_ENTRIES, type OutgoingEvent } from '../../lambda/domain-events/entries';
import { decodeRecord } from '../../lambda/shared/decode';
import { rowKindOf } from '../../lambda/shared/row-kinds';
import { insertRecord } from '../support/events';
import { BUS, faaRow, imageRow, schemaErrors, TABLE } from './support';

const target = { eventBusName: BUS, source: 'stream-fanout' };

function eventFor(row: ReturnType<typeof faaRow>, position = 0, maxBytes?: number): OutgoingEvent {
  const change = decodeRecord(insertRecord(row));
  const kind = rowKindOf(change.keys)!;
  return outgoingEvent(buildDetail(change, kind, { table: TABLE, includeSensitive: false }), detailType(kind, change), position, target, maxBytes);
}

/** A stand-in event of `bytes` for item `item` (planning reads only these fields). */
const sized = (position: number, item: string, bytes: number) => ({ position, item, bytes, ref: {}, entry: {}, reference: false }) as OutgoingEvent;

describe('entry size', () => {
  it('counts as EventBridge does: Time 14 bytes, then Source, DetailType, Detail and Resources in UTF-8 bytes (EventBusName not at all)', () => {
    expect(entrySize({ Source: 'abc', DetailType: 'x.y', Detail: '{"é":1}', EventBusName: 'ignored-bus' })).toBe(3 + 3 + 8); // é is 2 bytes
    expect(entrySize({ Source: 'abc', DetailType: 'x.y', Detail: '{}', Time: new Date(), Resources: ['r1', 'ü'] })).toBe(14 + 3 + 3 + 2 + 2 + 2);
  });

  it('an event within the limit carries its state; one over it goes with a reference instead, never dropped', () => {
    const row = faaRow('N1', { model: 'M'.repeat(5_000) });
    const full = eventFor(row, 3, 20_000);
    expect(full.reference).toBe(false);
    expect(full.bytes).toBe(entrySize(full.entry));
    const slim = eventFor(row, 3, 4_000);
    expect(slim.reference).toBe(true);
    expect(slim.bytes).toBeLessThan(4_000);
    const detail = JSON.parse(slim.entry.Detail!);
    expect(detail).not.toHaveProperty('state');
    expect(detail.stateOmitted).toEqual({ reason: 'entry-too-large', entryBytes: full.bytes, limitBytes: 4_000 });
    expect(detail).toMatchObject({ keys: { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1' }, table: TABLE, changedFields: expect.arrayContaining(['model']) });
    expect(schemaErrors(detail)).toBeNull();
    expect(slim).toMatchObject({ position: 3, entry: { EventBusName: BUS, Source: 'stream-fanout', DetailType: 'registration.created' } });
  });

  it('an event still over the limit without its state is an error naming the record', () => {
    expect(() => eventFor(imageRow('N1', 1), 0, 300)).toThrow(/even without its state, over the PutEvents limit of 300.*PK=IMAGES#/);
  });

  it('sets Time to the change time (EventBridge keeps seconds)', () => {
    expect(eventFor(faaRow('N1')).entry.Time).toEqual(new Date(1_780_000_000_000));
  });
});

describe('planCalls', () => {
  it('packs up to 10 entries per call, in order', () => {
    const events = Array.from({ length: 25 }, (_, i) => sized(i, `item-${i}`, 100));
    const calls = planCalls(events);
    expect(calls.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(calls.flat().map((e) => e.position)).toEqual(events.map((e) => e.position));
  });

  it('ends a call before an entry would take its total to the size limit', () => {
    const calls = planCalls([sized(0, 'a', 400_000), sized(1, 'b', 400_000), sized(2, 'c', 199_999), sized(3, 'd', 1)], { maxEntries: 10, maxBytes: PUT_EVENTS_MAX_BYTES });
    expect(calls.map((c) => c.map((e) => e.position))).toEqual([[0, 1, 2], [3]]);
  });

  it('never puts two entries of one item in a call: a later change of an item waits for the next call, other items go on', () => {
    const calls = planCalls([sized(0, 'a', 10), sized(1, 'b', 10), sized(2, 'a', 10), sized(3, 'c', 10), sized(4, 'a', 10)]);
    expect(calls.map((c) => c.map((e) => e.position))).toEqual([[0, 1, 3], [2], [4]]);
  });

  it('an item changed several times in a row costs one call per change of that item, not one per record', () => {
    const events = ['a', 'b', 'c', 'd', 'e'].flatMap((item, i) => [0, 1, 2, 3].map((k) => sized(i * 4 + k, item, 10)));
    expect(planCalls(events).map((c) => c.map((e) => e.item).join(''))).toEqual(['abcde', 'abcde', 'abcde', 'abcde']);
  });

  it('an entry too big for the call waits, an item behind it waits too, smaller entries of other items still go', () => {
    const calls = planCalls([sized(0, 'a', 600), sized(1, 'b', 600), sized(2, 'b', 10), sized(3, 'c', 10)], { maxEntries: 10, maxBytes: 1_000 });
    expect(calls.map((c) => c.map((e) => e.position))).toEqual([[0, 3], [1], [2]]);
  });

  it('property: every entry once, ≤ 10 per call, below the size limit, one entry per item, each item in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 400_000 })), { maxLength: 60 }), (specs) => {
        const events = specs.map(([item, bytes], i) => sized(i, `item-${item}`, bytes));
        const calls = planCalls(events);
        expect(calls.flat().map((e) => e.position).sort((a, b) => a - b)).toEqual(events.map((e) => e.position));
        const callOf = new Map(calls.flatMap((call, index) => call.map((e) => [e.position, index] as const)));
        for (const a of events) for (const b of events) if (a.item === b.item && a.position < b.position) expect(callOf.get(a.position)!).toBeLessThan(callOf.get(b.position)!);
        for (const call of calls) {
          expect(call.map((e) => e.position)).toEqual([...call.map((e) => e.position)].sort((x, y) => x - y));
          expect(call.length).toBeGreaterThan(0);
          expect(call.length).toBeLessThanOrEqual(PUT_EVENTS_MAX_ENTRIES);
          expect(call.reduce((sum, e) => sum + e.bytes, 0)).toBeLessThan(PUT_EVENTS_MAX_BYTES);
          expect(new Set(call.map((e) => e.item)).size).toBe(call.length);
        }
      }),
    );
  });
});
