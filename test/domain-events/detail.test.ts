/**
 * The detail of one change: detail types, projection per row kind, sensitive attributes left
 * out by default, changed field names, the change time in microseconds, exact numbers, and the
 * schema in docs/ (validated with ajv, and kept in step with the row kinds).
 */
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { buildDetail, changedFields, changeTimeOf, detailType, publishesEvent, withoutState } from '../../lambda/domain-events/detail';
import { decodeRecord, type StreamChange } from '../../lambda/shared/decode';
import { ROW_KIND_NAMES, ROW_KINDS, rowKindOf } from '../../lambda/shared/row-kinds';
import { insertRecord, modifyRecord, removeRecord } from '../support/events';
import { CANARY, faaRow, icaoTypeRow, imageRow, schema, schemaErrors, TABLE } from './support';

const options = { table: TABLE, includeSensitive: false };
const decoded = (record: Parameters<typeof decodeRecord>[0]) => decodeRecord(record);
const kindOf = (change: StreamChange) => rowKindOf(change.keys)!;
const detailOf = (change: StreamChange, opts = options) => buildDetail(change, kindOf(change), opts);

describe('domain event detail', () => {
  it('names <entity>.created|updated|deleted from the row kind and the eventName', () => {
    const insert = decoded(insertRecord(faaRow('N1')));
    const modify = decoded(modifyRecord(imageRow('N1', 1), imageRow('N1', 1, { caption: 'new' })));
    const remove = decoded(removeRecord(icaoTypeRow('B738')));
    expect([insert, modify, remove].map((c) => detailType(kindOf(c), c))).toEqual(['registration.created', 'aircraft-image.updated', 'icao-aircraft-type.deleted']);
  });

  it('carries the change context and projects the state onto the kind, personal attributes left out by default', () => {
    const change = decoded(modifyRecord(faaRow('N1', { last_action_date: '2026-01-01' }), faaRow('N1', { status: 'R', owner_name: 'OTHER', last_action_date: '2026-02-01' })));
    const detail = detailOf(change);
    expect(detail).toMatchObject({ version: 1, eventID: change.eventID, eventName: 'MODIFY', entity: 'registration', rowKind: 'faa-registration', table: TABLE, keys: { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1' }, sequenceNumber: change.sequenceNumber });
    // Names only: owner_name changed, and says so, without its value. Not the bookkeeping field outside the entity.
    expect(detail.changedFields).toEqual(['owner_name', 'status']);
    expect(detail.state).toEqual({ registration: 'N1', manufacturer: 'CESSNA', model: '172S', serial_number: '17270001', type_designator: 'C172', year_manufactured: 2004, status: 'R', mfr_mdl_code: '2072738', mode_s_hex: 'A1B2C3' });
    expect(detail.previous).toMatchObject({ status: 'V' });
    for (const name of ROW_KINDS['faa-registration'].sensitive) {
      expect(detail.state).not.toHaveProperty(name);
      expect(detail.previous).not.toHaveProperty(name);
    }
    const text = JSON.stringify(detail);
    for (const canary of Object.values(CANARY)) expect(text).not.toContain(canary);
  });

  it('includes the personal attributes only when configured to (a bus the team controls)', () => {
    const detail = detailOf(decoded(insertRecord(faaRow('N1'))), { ...options, includeSensitive: true });
    expect(detail.state).toMatchObject({ owner_name: CANARY.owner, street: CANARY.street, city: CANARY.city, state: 'KS', zip_code: '67201', country: 'US' });
    expect(schemaErrors(detail)).toBeNull();
  });

  it('created has the new state only, deleted the previous state only', () => {
    const created = detailOf(decoded(insertRecord(icaoTypeRow('B738'))));
    const deleted = detailOf(decoded(removeRecord(icaoTypeRow('B738'))));
    expect(created.state).toEqual({ type_designator: 'B738', manufacturer: 'BOEING', model: '737-800' });
    expect(created).not.toHaveProperty('previous');
    expect(created.changedFields).toEqual(['manufacturer', 'model', 'type_designator']);
    expect(deleted.previous).toEqual(created.state);
    expect(deleted).not.toHaveProperty('state');
  });

  it('an update of attributes outside the entity makes no event; any entity attribute (or its removal) does', () => {
    const bookkeeping = decoded(modifyRecord(faaRow('N1'), faaRow('N1', { last_action_date: '2026-11-01' })));
    expect(changedFields(bookkeeping, kindOf(bookkeeping))).toEqual([]);
    expect(publishesEvent(bookkeeping, kindOf(bookkeeping))).toBe(false);
    const { manufacturer: _m, ...withoutManufacturer } = faaRow('N1');
    const removal = decoded(modifyRecord(faaRow('N1'), withoutManufacturer as ReturnType<typeof faaRow>));
    expect(changedFields(removal, kindOf(removal))).toEqual(['manufacturer']);
    expect(publishesEvent(removal, kindOf(removal))).toBe(true);
    expect(publishesEvent(decoded(removeRecord(faaRow('N1'))), ROW_KINDS['faa-registration'])).toBe(true);
  });

  it('keeps the change time to the microsecond (Kinesis sources) as ISO 8601 and epoch microseconds', () => {
    const base = decoded(insertRecord(faaRow('N1')));
    expect(changeTimeOf({ ...base, approximateCreationDateTime: 1_780_000_000 })).toEqual({ iso: '2026-05-28T20:26:40.000000Z', micros: 1_780_000_000_000_000 });
    // What the Kinesis decoder hands on: seconds with the microseconds kept as the fraction.
    expect(changeTimeOf({ ...base, approximateCreationDateTime: 1_780_000_000_123_456 / 1e6 })).toEqual({ iso: '2026-05-28T20:26:40.123456Z', micros: 1_780_000_000_123_456 });
    expect(() => changeTimeOf({ ...base, approximateCreationDateTime: undefined })).toThrow(/no ApproximateCreationDateTime.*eventID=/);
  });

  it('keeps numbers a double cannot hold exact (as strings) and binary as base64', () => {
    const change = decoded(insertRecord(imageRow('N1', 1, { width: new NumberValue('12345678901234567890'), height: 900, caption: Buffer.from('hi') })));
    const detail = detailOf(change);
    expect(detail.state).toMatchObject({ width: '12345678901234567890', height: 900, caption: Buffer.from('hi').toString('base64') });
    expect(schemaErrors(detail)).toBeNull();
  });

  it('fails a record whose image is missing, naming it', () => {
    const change = decoded(modifyRecord(faaRow('N1'), faaRow('N1', { status: 'R' })));
    expect(() => detailOf({ ...change, oldImage: undefined })).toThrow(/lacks an image.*NEW_AND_OLD_IMAGES.*eventID=.*PK=AIRCRAFT#REGISTRY#FAA SK=DETAIL#N1/);
  });
});

describe('docs/domain-event.schema.json', () => {
  it('accepts the detail of every change kind, the reference form, and every row kind', () => {
    const details = [
      detailOf(decoded(insertRecord(faaRow('N1')))),
      detailOf(decoded(modifyRecord(faaRow('N1'), faaRow('N1', { status: 'R' })))),
      detailOf(decoded(removeRecord(imageRow('N1', 1)))),
      withoutState(detailOf(decoded(modifyRecord(icaoTypeRow('B738'), icaoTypeRow('B738', { model: 'x' })))), 2_000_000, 1_000_000),
      detailOf(decoded(insertRecord({ PK: 'AIRCRAFT#REGISTRY#FOREIGN', SK: 'DETAIL#G-ABCD', registration: 'G-ABCD', country: 'GB' }))),
      detailOf(decoded(insertRecord({ PK: 'ICAO#MANUFACTURERS', SK: 'MFR#BOEING', code: 'BOEING', name: 'The Boeing Company', country: 'United States' }))),
      detailOf(decoded(insertRecord({ PK: 'ICAO#VARIANTS', SK: 'VARIANT#B738#737-800', type_designator: 'B738', model: '737-800' }))),
      detailOf(decoded(insertRecord({ PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#2072738#SN#1', mfr_mdl_code: '2072738', serial_number: '1', type_designator: 'C172' }))),
    ];
    expect(new Set(details.map((d) => d.rowKind))).toEqual(new Set(ROW_KIND_NAMES));
    for (const detail of details) expect({ detail, errors: schemaErrors(detail) }).toEqual({ detail, errors: null });
  });

  it('rejects what a consumer must never see: state beside a reference, an attribute of another kind, a deleted event with a state', () => {
    const updated = detailOf(decoded(modifyRecord(faaRow('N1'), faaRow('N1', { status: 'R' }))));
    expect(schemaErrors({ ...updated, stateOmitted: { reason: 'entry-too-large', entryBytes: 2, limitBytes: 1 } })).not.toBeNull();
    expect(schemaErrors({ ...updated, state: { ...updated.state, url: 'x' } })).not.toBeNull();
    expect(schemaErrors({ ...updated, eventName: 'REMOVE' })).not.toBeNull();
    expect(schemaErrors({ ...updated, changeTime: '2026-01-01T00:00:00Z' })).not.toBeNull();
  });

  it('lists exactly the row kinds, their entities and attributes (one source: lambda/shared/row-kinds.ts)', () => {
    expect(schema.properties.rowKind.enum).toEqual([...ROW_KIND_NAMES]);
    expect(schema.properties.entity.enum).toEqual([...new Set(ROW_KIND_NAMES.map((n) => ROW_KINDS[n].entity))]);
    for (const name of ROW_KIND_NAMES) expect(schema.$defs[`${name}-attributes`].enum).toEqual([...ROW_KINDS[name].attributes]);
  });
});
