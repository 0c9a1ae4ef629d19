/**
 * The chaos run's workload: random writes over every row kind on a small key space, so
 * documents, entities and tuples churn.
 */
import type { RowKeys } from '../lambda/shared/key-rules';
import { pick, registrationImagePk, icaoImagePk, type Change, type Random } from './dataset';

const TUPLES = [
  ['B738', 'BOEING', '737-8H4'],
  ['B738', 'BOEING', '737-824'],
  ['C172', 'CESSNA', '172S'],
  ['PA28', 'PIPER AIRCRAFT INC', 'PA-28-181'],
] as const;

/** Random writes over a small key space, so documents, entities and tuples churn. */
export function chaosWorkload(random: Random, operations: number): Change[] {
  const changes: Change[] = [];
  const regs = Array.from({ length: 12 }, (_, i) => `N${100 + i}`);
  const foreign = Array.from({ length: 10 }, (_, i) => `G-CH${String.fromCharCode(65 + i)}`);
  const types = ['B738', 'A320', 'C172', 'PA28', 'E75L', 'R44'];
  const mfrs = ['BOEING', 'AIRBUS', 'CESSNA', 'PIPER'];
  const entities = [
    ...regs.slice(0, 6).map((r) => ({ pk: registrationImagePk('SYSTEM', r), org: 'SYSTEM', type: 'REGISTRATION', id: r })),
    ...regs.slice(0, 2).map((r) => ({ pk: registrationImagePk('ACME', r), org: 'ACME', type: 'REGISTRATION', id: r })),
    ...types.slice(0, 3).map((t) => ({ pk: icaoImagePk('SYSTEM', t), org: 'SYSTEM', type: 'ICAO', id: t })),
  ];
  const images = new Map<string, string[]>(entities.map((e) => [e.pk, []]));
  const links = Array.from({ length: 40 }, (_, i) => ({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#${1000 + (i % 7)}#SN#${20_000 + i}` }));
  let n = 0;

  const del = (key: RowKeys): Change => ({ kind: 'delete', key });
  const generators: Array<() => Change> = [
    () => {
      const reg = pick(random, regs);
      const key = { PK: 'AIRCRAFT#REGISTRY#FAA', SK: `DETAIL#${reg}` };
      const r = random();
      if (r < 0.45) return { kind: 'put', item: { ...key, registration: reg, manufacturer: pick(random, mfrs), model: `M${Math.floor(random() * 5)}`, year_manufactured: 1990 + Math.floor(random() * 30), owner_name: `OWNER ${Math.floor(random() * 9)}` } };
      if (r < 0.6) return { kind: 'update', key, set: { owner_name: `OWNER ${Math.floor(random() * 9)}` } };
      if (r < 0.7) return { kind: 'update', key, set: { internal_note: `n${n++}` } };
      if (r < 0.8) return { kind: 'update', key, set: {}, remove: ['manufacturer'] };
      return del(key);
    },
    () => {
      const reg = pick(random, foreign);
      const key = { PK: 'AIRCRAFT#REGISTRY#FOREIGN', SK: `DETAIL#${reg}` };
      return random() < 0.7 ? { kind: 'put', item: { ...key, registration: reg, manufacturer: pick(random, mfrs), model: `F${Math.floor(random() * 3)}`, country: 'GB' } } : del(key);
    },
    () => {
      const t = pick(random, types);
      const key = { PK: 'ICAO#AIRCRAFT', SK: `TYPE#${t}` };
      return random() < 0.75 ? { kind: 'put', item: { ...key, type_designator: t, manufacturer: pick(random, mfrs), model: `${t}-${Math.floor(random() * 3)}`, engine_count: 1 + Math.floor(random() * 2) } } : del(key);
    },
    () => {
      const code = pick(random, mfrs);
      const key = { PK: 'ICAO#MANUFACTURERS', SK: `MFR#${code}` };
      return random() < 0.75 ? { kind: 'put', item: { ...key, code, name: `${code} ${Math.floor(random() * 3)}`, country: 'US' } } : del(key);
    },
    () => {
      const key = { PK: 'ICAO#VARIANTS', SK: `VARIANT#${pick(random, types)}` };
      return random() < 0.7 ? { kind: 'put', item: { ...key, variant: `v${n++}` } } : del(key);
    },
    () => {
      const e = pick(random, entities);
      const existing = images.get(e.pk)!;
      const r = random();
      if (existing.length === 0 || r < 0.45) {
        n += 1;
        const sk = `IMG#2026-01-01T00:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}Z#${n}`;
        existing.push(sk);
        return { kind: 'put', item: { PK: e.pk, SK: sk, org_id: e.org, entity_type: e.type, entity_id: e.id, image_id: `img${n}`, url: `https://img.example/${n}.jpg`, caption: `c${n}` } };
      }
      const sk = pick(random, existing);
      if (r < 0.7) return { kind: 'update', key: { PK: e.pk, SK: sk }, set: { url: `https://img.example/${n++}-v.jpg` } };
      existing.splice(existing.indexOf(sk), 1);
      return del({ PK: e.pk, SK: sk });
    },
    () => {
      const key = pick(random, links);
      const r = random();
      const [type_designator, manufacturer, model] = pick(random, TUPLES);
      if (r < 0.55) return { kind: 'put', item: { ...key, type_designator: random() < 0.1 ? ` ${type_designator.toLowerCase()} ` : type_designator, manufacturer, model } };
      if (r < 0.7) return { kind: 'update', key, set: { type_designator, manufacturer, model } };
      if (r < 0.8) return { kind: 'update', key, set: { model: '  ' } };
      return del(key);
    },
  ];
  const weights = [4, 1, 1, 1, 1, 4, 4];
  const total = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < operations; i += 1) {
    let x = random() * total;
    const index = weights.findIndex((w) => (x -= w) < 0);
    changes.push(generators[index]!());
  }
  return changes;
}
