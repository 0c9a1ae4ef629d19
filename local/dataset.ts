/**
 * Sample data for `npm start` and the chaos test: rows shaped like the FAA registry and
 * ICAO Doc 8643, generated from a seed so every run (and every failure) is reproducible.
 */
import type { Item } from '../lambda/shared/decode';
import type { RowKeys } from '../lambda/shared/key-rules';

/** A small seeded PRNG (mulberry32): deterministic across platforms and Node versions. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;
export const pick = <T>(random: Random, values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
const int = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));

/** ICAO Doc 8643 designators with their manufacturer, model, description, engines and wake category. */
export const ICAO_TYPES = [
  ['B738', 'BOEING', '737-800', 'L2J', 'Jet', 2, 'M'],
  ['B739', 'BOEING', '737-900', 'L2J', 'Jet', 2, 'M'],
  ['B77W', 'BOEING', '777-300ER', 'L2J', 'Jet', 2, 'H'],
  ['B789', 'BOEING', '787-9 Dreamliner', 'L2J', 'Jet', 2, 'H'],
  ['A320', 'AIRBUS', 'A320', 'L2J', 'Jet', 2, 'M'],
  ['A321', 'AIRBUS', 'A321', 'L2J', 'Jet', 2, 'M'],
  ['A20N', 'AIRBUS', 'A320neo', 'L2J', 'Jet', 2, 'M'],
  ['A359', 'AIRBUS', 'A350-900', 'L2J', 'Jet', 2, 'H'],
  ['E75L', 'EMBRAER', 'ERJ-170-200 (long wing)', 'L2J', 'Jet', 2, 'M'],
  ['CRJ9', 'BOMBARDIER', 'CRJ-900', 'L2J', 'Jet', 2, 'M'],
  ['C172', 'CESSNA', '172 Skyhawk', 'L1P', 'Piston', 1, 'L'],
  ['C182', 'CESSNA', '182 Skylane', 'L1P', 'Piston', 1, 'L'],
  ['C208', 'CESSNA', '208 Caravan', 'L1T', 'Turboprop/Turboshaft', 1, 'L'],
  ['PA28', 'PIPER', 'PA-28 Cherokee', 'L1P', 'Piston', 1, 'L'],
  ['SR22', 'CIRRUS', 'SR-22', 'L1P', 'Piston', 1, 'L'],
  ['BE36', 'BEECHCRAFT', '36 Bonanza', 'L1P', 'Piston', 1, 'L'],
  ['DH8D', 'DE HAVILLAND CANADA', 'DHC-8-400 Dash 8', 'L2T', 'Turboprop/Turboshaft', 2, 'M'],
  ['AT76', 'ATR', 'ATR 72-600', 'L2T', 'Turboprop/Turboshaft', 2, 'M'],
  ['R44', 'ROBINSON', 'R-44 Raven', 'H1P', 'Piston', 1, 'L'],
  ['EC35', 'AIRBUS HELICOPTERS', 'EC135', 'H2T', 'Turboprop/Turboshaft', 2, 'L'],
  ['GLF6', 'GULFSTREAM AEROSPACE', 'G650', 'L2J', 'Jet', 2, 'M'],
  ['PC12', 'PILATUS', 'PC-12', 'L1T', 'Turboprop/Turboshaft', 1, 'L'],
] as const;

export const ICAO_MANUFACTURERS = [
  ['BOEING', 'The Boeing Company', 'United States'],
  ['AIRBUS', 'Airbus SAS', 'France'],
  ['EMBRAER', 'Embraer S.A.', 'Brazil'],
  ['BOMBARDIER', 'Bombardier Inc.', 'Canada'],
  ['CESSNA', 'Cessna Aircraft Company', 'United States'],
  ['PIPER', 'Piper Aircraft Inc.', 'United States'],
  ['CIRRUS', 'Cirrus Design Corporation', 'United States'],
  ['BEECHCRAFT', 'Beechcraft Corporation', 'United States'],
  ['DE HAVILLAND CANADA', 'De Havilland Aircraft of Canada', 'Canada'],
  ['ATR', 'Avions de Transport Regional', 'France'],
  ['ROBINSON', 'Robinson Helicopter Company', 'United States'],
  ['AIRBUS HELICOPTERS', 'Airbus Helicopters', 'France'],
  ['GULFSTREAM AEROSPACE', 'Gulfstream Aerospace Corporation', 'United States'],
  ['PILATUS', 'Pilatus Aircraft Ltd', 'Switzerland'],
] as const;

/** FAA aircraft reference rows: MFR_MDL_CODE, FAA manufacturer and model, and the ICAO type they map to. */
export const FAA_MODELS = [
  ['2072738', 'CESSNA', '172S', 'C172'],
  ['2072710', 'CESSNA', '172N', 'C172'],
  ['2073220', 'CESSNA', '182T', 'C182'],
  ['2074311', 'CESSNA', '208B', 'C208'],
  ['7100516', 'PIPER AIRCRAFT INC', 'PA-28-181', 'PA28'],
  ['7100430', 'PIPER AIRCRAFT INC', 'PA-28-161', 'PA28'],
  ['1152020', 'CIRRUS DESIGN CORP', 'SR22', 'SR22'],
  ['1152023', 'CIRRUS DESIGN CORP', 'SR22T', 'SR22'],
  ['0571801', 'BEECH', 'A36', 'BE36'],
  ['1384412', 'BOEING', '737-8H4', 'B738'],
  ['1384418', 'BOEING', '737-824', 'B738'],
  ['1384905', 'BOEING', '737-924ER', 'B739'],
  ['1387203', 'BOEING', '787-9', 'B789'],
  ['0300115', 'AIRBUS', 'A320-232', 'A320'],
  ['0300218', 'AIRBUS', 'A321-231', 'A321'],
  ['1790310', 'EMBRAER', 'ERJ 170-200 LR', 'E75L'],
  ['7411840', 'ROBINSON HELICOPTER CO', 'R44 II', 'R44'],
  ['6892210', 'PILATUS AIRCRAFT LTD', 'PC-12/47E', 'PC12'],
  ['2283520', 'GULFSTREAM AEROSPACE', 'GVI', 'GLF6'],
] as const;

const OWNERS = ['SKYWARD LEASING LLC', 'JOHNSON MARY A', 'BLUE RIDGE AVIATION INC', 'WELLS FARGO TRUST CO NA TRUSTEE', 'GARCIA LUIS', 'SOUTHWEST AIRLINES CO', 'NGUYEN THANH', 'CIVIL AIR PATROL', 'ALASKA AIRLINES INC', 'PATEL RAJ'];
const CITIES = [['WICHITA', 'KS'], ['DALLAS', 'TX'], ['SEATTLE', 'WA'], ['ANCHORAGE', 'AK'], ['VERO BEACH', 'FL'], ['DULUTH', 'MN'], ['DENVER', 'CO'], ['PHOENIX', 'AZ']] as const;
const FOREIGN = [['G-', 'GB', 4], ['D-E', 'DE', 3], ['C-F', 'CA', 3], ['VH-', 'AU', 3], ['F-H', 'FR', 3]] as const;
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export const registrationImagePk = (org: string, reg: string) => `IMAGES#ORG#${org}#ENTITY#REGISTRATION#ID#${reg}`;
export const icaoImagePk = (org: string, designator: string) => `IMAGES#ORG#${org}#ENTITY#ICAO#ID#${designator}`;

export interface DatasetOptions {
  seed: number;
  /** FAA registrations; other row kinds scale with it. */
  registrations: number;
}

export interface Dataset {
  readonly rows: Item[];
  readonly changes: Change[];
}

/** A write against the table, applied in order by `applyChanges`. */
export type Change =
  | { readonly kind: 'put'; readonly item: Item }
  | { readonly kind: 'update'; readonly key: RowKeys; readonly set: Record<string, unknown>; readonly remove?: readonly string[] }
  | { readonly kind: 'delete'; readonly key: RowKeys };

function nNumber(random: Random, used: Set<string>): string {
  for (;;) {
    const reg = `N${int(random, 1, 99999)}${random() < 0.3 ? pick(random, LETTERS.split('')) : ''}`;
    if (!used.has(reg)) return used.add(reg), reg;
  }
}

function image(random: Random, org: string, entityType: 'REGISTRATION' | 'ICAO', entityId: string, n: number): Item {
  const pk = entityType === 'REGISTRATION' ? registrationImagePk(org, entityId) : icaoImagePk(org, entityId);
  const created = new Date(Date.UTC(2024, 0, 1) + n * 3_600_000 + int(random, 0, 3_599) * 1000).toISOString();
  const imageId = `img-${entityId.toLowerCase()}-${n}`;
  return {
    PK: pk,
    SK: `IMG#${created}#${imageId}`,
    org_id: org,
    entity_type: entityType,
    entity_id: entityId,
    image_id: imageId,
    url: `https://images.example.com/${org.toLowerCase()}/${imageId}.jpg`,
    thumbnail_url: `https://images.example.com/${org.toLowerCase()}/${imageId}_thumb.jpg`,
    caption: `${entityId} ${pick(random, ['on approach', 'at the gate', 'taxiing', 'in the hangar', 'climbing out'])}`,
    credit: pick(random, ['J. Smith', 'A. Kowalski', 'M. Tanaka', 'System']),
    width: pick(random, [1600, 1920, 2048]),
    height: pick(random, [900, 1080, 1365]),
    created_at: created,
  };
}

/** The initial rows: registry details, ICAO reference data, images and FAA links. */
export function generateRows(options: DatasetOptions): Item[] {
  const random = prng(options.seed);
  const rows: Item[] = [];
  const used = new Set<string>();
  const regs: string[] = [];

  for (let i = 0; i < options.registrations; i += 1) {
    const reg = nNumber(random, used);
    regs.push(reg);
    const [code, manufacturer, model, designator] = pick(random, FAA_MODELS);
    const [city, state] = pick(random, CITIES);
    const serial = `${int(random, 17000, 38000)}`;
    rows.push({
      PK: 'AIRCRAFT#REGISTRY#FAA',
      SK: `DETAIL#${reg}`,
      registration: reg,
      manufacturer,
      model,
      serial_number: serial,
      type_designator: designator,
      year_manufactured: int(random, 1968, 2025),
      owner_name: pick(random, OWNERS),
      city,
      state,
      country: 'US',
      status: pick(random, ['V', 'V', 'V', 'R']),
      mfr_mdl_code: code,
      mode_s_hex: (0xa00001 + int(random, 0, 0x1ffff)).toString(16).toUpperCase(),
    });
    rows.push({
      PK: 'FAA#LINKS',
      SK: `MFR_MDL_CODE#${code}#SN#${serial}`,
      mfr_mdl_code: code,
      serial_number: serial,
      type_designator: designator,
      manufacturer,
      model,
    });
  }

  for (let i = 0; i < Math.ceil(options.registrations / 2); i += 1) {
    const [prefix, country, length] = pick(random, FOREIGN);
    let reg: string;
    do reg = prefix + Array.from({ length }, () => pick(random, LETTERS.split(''))).join('');
    while (used.has(reg));
    used.add(reg);
    const [designator, manufacturer, model] = pick(random, ICAO_TYPES);
    rows.push({
      PK: 'AIRCRAFT#REGISTRY#FOREIGN',
      SK: `DETAIL#${reg}`,
      registration: reg,
      manufacturer,
      model,
      serial_number: `${int(random, 100, 9999)}`,
      type_designator: designator,
      year_manufactured: int(random, 1985, 2025),
      country,
      status: 'V',
    });
  }

  for (const [designator, manufacturer, model, description, engine_type, engine_count, wtc] of ICAO_TYPES) {
    rows.push({ PK: 'ICAO#AIRCRAFT', SK: `TYPE#${designator}`, type_designator: designator, manufacturer, model, description, engine_type, engine_count, wtc });
    rows.push({ PK: 'ICAO#VARIANTS', SK: `VARIANT#${designator}#${model}`, type_designator: designator, variant: model });
  }
  for (const [code, name, country] of ICAO_MANUFACTURERS) {
    rows.push({ PK: 'ICAO#MANUFACTURERS', SK: `MFR#${code}`, code, name, country });
  }

  let n = 0;
  for (const reg of regs.slice(0, Math.ceil(regs.length * 0.6))) {
    for (let k = int(random, 1, 3); k > 0; k -= 1) rows.push(image(random, 'SYSTEM', 'REGISTRATION', reg, (n += 1)));
  }
  for (const reg of regs.slice(0, Math.ceil(regs.length * 0.1))) rows.push(image(random, 'ACME', 'REGISTRATION', reg, (n += 1)));
  for (const [designator] of ICAO_TYPES.slice(0, 12)) rows.push(image(random, 'SYSTEM', 'ICAO', designator, (n += 1)));
  return rows;
}

/**
 * The scripted change set: edits that do and do not touch documents, deletions, a row that
 * becomes non-indexable, image churn (new newest image, url change, deleting the pointed
 * image and the last image), link moves, removals and a whitespace/case variant.
 */
export function generateChanges(rows: readonly Item[], seed: number): Change[] {
  const random = prng(seed ^ 0x5eed);
  const of = (pk: string) => rows.filter((r) => r.PK === pk);
  const key = (r: Item): RowKeys => ({ PK: String(r.PK), SK: String(r.SK) });
  const faa = of('AIRCRAFT#REGISTRY#FAA');
  const links = of('FAA#LINKS');
  const images = rows.filter((r) => String(r.PK).startsWith('IMAGES#'));
  const changes: Change[] = [];

  faa.slice(0, 5).forEach((r) => changes.push({ kind: 'update', key: key(r), set: { owner_name: pick(random, OWNERS), city: 'TULSA', state: 'OK' } }));
  faa.slice(5, 8).forEach((r) => changes.push({ kind: 'update', key: key(r), set: { last_action_date: '2026-11-01' } }));
  faa.slice(8, 11).forEach((r) => changes.push({ kind: 'delete', key: key(r) }));
  faa.slice(11, 13).forEach((r) => changes.push({ kind: 'update', key: key(r), set: {}, remove: ['manufacturer'] }));
  changes.push({ kind: 'update', key: { PK: 'ICAO#AIRCRAFT', SK: 'TYPE#B738' }, set: { model: '737-800 (Next Generation)' } });
  changes.push({ kind: 'delete', key: { PK: 'ICAO#MANUFACTURERS', SK: 'MFR#GULFSTREAM AEROSPACE' } });
  changes.push({ kind: 'update', key: { PK: 'ICAO#VARIANTS', SK: 'VARIANT#B738#737-800' }, set: { variant: '737-800BCF' } });

  const byEntity = new Map<string, Item[]>();
  for (const img of images) byEntity.set(String(img.PK), [...(byEntity.get(String(img.PK)) ?? []), img]);
  const entities = [...byEntity.values()];
  let n = 10_000;
  for (const group of entities.slice(0, 6)) {
    const first = group[0]!;
    changes.push({ kind: 'put', item: image(random, String(first.org_id), first.entity_type as 'REGISTRATION' | 'ICAO', String(first.entity_id), (n += 1)) });
  }
  for (const group of entities.slice(6, 10)) {
    const newest = [...group].sort((a, b) => String(b.SK).localeCompare(String(a.SK)))[0]!;
    changes.push({ kind: 'update', key: key(newest), set: { url: String(newest.url).replace('.jpg', '-v2.jpg'), caption: 'Re-edited' } });
  }
  for (const group of entities.slice(10, 14)) {
    const newest = [...group].sort((a, b) => String(b.SK).localeCompare(String(a.SK)))[0]!;
    changes.push({ kind: 'delete', key: key(newest) });
  }
  for (const group of entities.slice(14, 17)) group.forEach((img) => changes.push({ kind: 'delete', key: key(img) }));

  const other = (designator: unknown) => pick(random, FAA_MODELS.filter((m) => m[3] !== designator));
  links.slice(0, 6).forEach((r) => {
    const [, manufacturer, model, designator] = other(r.type_designator);
    changes.push({ kind: 'update', key: key(r), set: { manufacturer, model, type_designator: designator } });
  });
  links.slice(6, 9).forEach((r) => changes.push({ kind: 'delete', key: key(r) }));
  links.slice(9, 11).forEach((r) => changes.push({ kind: 'update', key: key(r), set: { type_designator: ` ${String(r.type_designator).toLowerCase()} ` } }));
  links.slice(11, 13).forEach((r) => changes.push({ kind: 'update', key: key(r), set: {}, remove: ['model'] }));
  changes.push({
    kind: 'put',
    item: { PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#1384412#SN#99901', mfr_mdl_code: '1384412', serial_number: '99901', type_designator: 'B738', manufacturer: 'BOEING', model: '737-8H4' },
  });
  return changes;
}

export function generateDataset(options: DatasetOptions): Dataset {
  const rows = generateRows(options);
  return { rows, changes: generateChanges(rows, options.seed) };
}

/** The sample `npm start` loads: about three hundred rows of every kind. */
export const SAMPLE_DATASET_OPTIONS: DatasetOptions = { seed: 8643, registrations: 60 };
