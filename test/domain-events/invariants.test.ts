/** I6 as a pure check: every delivered change of an entity has an event with its eventID; no event lacks one. */
import { decodeRecord } from '../../lambda/shared/decode';
import { auditEvents, type PublishedEvent } from '../../ops/invariants-events';
import { insertRecord, modifyRecord, removeRecord } from '../support/events';
import { faaRow, imageRow } from './support';

const created = decodeRecord(insertRecord(faaRow('N1')));
const updated = decodeRecord(modifyRecord(faaRow('N1'), faaRow('N1', { status: 'R' })));
const bookkeeping = decodeRecord(modifyRecord(faaRow('N1', { status: 'R' }), faaRow('N1', { status: 'R', last_action_date: 'x' })));
const deleted = decodeRecord(removeRecord(imageRow('N1', 1)));
const pointer = decodeRecord(insertRecord({ PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N1', SK: 'DEFAULT' }));

const event = (detailType: string, change: { eventID: string; keys: { PK: string; SK: string } }): PublishedEvent => ({ detailType, detail: { eventID: change.eventID, keys: change.keys } });
const good = [event('registration.created', created), event('registration.updated', updated), event('aircraft-image.deleted', deleted)];

describe('I6 (ops/invariants-events.ts)', () => {
  it('holds when each change of an entity has its event; duplicates of both sides are fine', () => {
    const result = auditEvents([created, updated, updated, bookkeeping, deleted, pointer], [...good, good[0]!]);
    expect(result).toEqual({ checked: { changes: 3, events: 4, duplicates: 1 }, findings: [] });
  });

  it('finds a delivered change without its event, naming the record', () => {
    const { findings } = auditEvents([created, updated, deleted], [good[0]!, good[2]!]);
    expect(findings).toEqual([{ invariant: 'I6', where: `eventID=${updated.eventID} PK=AIRCRAFT#REGISTRY#FAA SK=DETAIL#N1`, problem: 'delivered change produced no registration.updated event' }]);
  });

  it('finds an event without a change, an event for a change that makes none, and an event that does not match its change', () => {
    const stray = { eventID: 'nobody', keys: { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N9' } };
    const { findings } = auditEvents(
      [created, updated, bookkeeping, deleted],
      [...good, event('registration.created', stray), event('registration.updated', bookkeeping), event('registration.deleted', { ...created, eventID: created.eventID })],
    );
    expect(findings.map((f) => f.problem)).toEqual([
      'event registration.created has no delivered change with its eventID',
      'event registration.updated for a change that changes no entity (no event expected)',
      'event registration.deleted does not match its change (registration.created of PK=AIRCRAFT#REGISTRY#FAA SK=DETAIL#N1)',
    ]);
  });

  it('reads only the configured row kinds', () => {
    expect(auditEvents([created, deleted], [good[2]!], ['aircraft-image']).findings).toEqual([]);
    expect(auditEvents([created, deleted], [good[2]!]).findings).toHaveLength(1);
  });
});
