import type { StreamChange } from '../../../lambda/shared/decode';
import { decodeRecord } from '../../../lambda/shared/decode';
import { insertRecord, modifyRecord, removeRecord } from '../../support/events';
import type { Row } from './stream-model';

/** Complete rows, one per spec of DESIGN §3. */
export const faaRow = (reg = 'N12345', extra: Record<string, unknown> = {}): Row => ({
  PK: 'AIRCRAFT#REGISTRY#FAA',
  SK: `DETAIL#${reg}`,
  registration: reg,
  manufacturer: 'CESSNA',
  model: '172S',
  serial_number: '172S10001',
  type_designator: 'C172',
  year_manufactured: 2004,
  owner_name: 'JANE DOE',
  city: 'WICHITA',
  state: 'KS',
  country: 'US',
  status: 'V',
  mfr_mdl_code: '2072738',
  mode_s_hex: 'A1B2C3',
  last_seen: '2026-01-01', // not indexed
  ...extra,
});

export const foreignRow = (reg = 'G-ABCD', extra: Record<string, unknown> = {}): Row => ({
  PK: 'AIRCRAFT#REGISTRY#FOREIGN',
  SK: `DETAIL#${reg}`,
  registration: reg,
  manufacturer: 'PIPER',
  model: 'PA-28',
  country: 'GB',
  ...extra,
});

export const imageRow = (reg = 'N12345', sortable = '2026-01-02T03:04:05Z#img1', extra: Record<string, unknown> = {}): Row => ({
  PK: `IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#${reg}`,
  SK: `IMG#${sortable}`,
  org_id: 'SYSTEM',
  entity_type: 'REGISTRATION',
  entity_id: reg,
  image_id: 'img1',
  url: 'https://img.example/1.jpg',
  thumbnail_url: 'https://img.example/1-t.jpg',
  caption: 'On final',
  credit: 'A. Spotter',
  width: 1920,
  height: 1080,
  created_at: '2026-01-02T03:04:05Z',
  ...extra,
});

export const icaoTypeRow = (designator = 'B738', extra: Record<string, unknown> = {}): Row => ({
  PK: 'ICAO#AIRCRAFT',
  SK: `TYPE#${designator}`,
  type_designator: designator,
  manufacturer: 'BOEING',
  model: '737-800',
  description: 'L2J',
  engine_type: 'Jet',
  engine_count: 2,
  wtc: 'M',
  ...extra,
});

export const icaoManufacturerRow = (code = 'BOEING', extra: Record<string, unknown> = {}): Row => ({
  PK: 'ICAO#MANUFACTURERS',
  SK: `MFR#${code}`,
  code,
  name: 'The Boeing Company',
  country: 'US',
  ...extra,
});

export const variantRow = (extra: Record<string, unknown> = {}): Row => ({
  PK: 'ICAO#VARIANTS',
  SK: 'VARIANT#B738#MAX',
  type_designator: 'B738',
  name: '737 MAX 8',
  ...extra,
});

/** Drops attributes from a row (to make it incomplete). */
export const without = (row: Row, ...names: string[]): Row =>
  Object.fromEntries(Object.entries(row).filter(([k]) => !names.includes(k))) as Row;

export const insertChange = (row: Row): StreamChange => decodeRecord(insertRecord(row));
export const modifyChange = (oldRow: Row, newRow: Row): StreamChange => decodeRecord(modifyRecord(oldRow, newRow));
export const removeChange = (row: Row): StreamChange => decodeRecord(removeRecord(row));
