/**
 * DESIGN §9's property for search, through the real indexer, DynamoDB Local and the local
 * Typesense stand-in (no real Typesense runs in CI): random writes interleaved with indexer
 * batches made of stale triggers (replays of any age and origin), duplicates and lost
 * messages; then one trigger per affected document. The index must equal the projection of
 * the table (I1), checked by the same audit `npm start` runs, on an export through the API.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { RowKeys } from '../../lambda/shared/key-rules';
import type { TriggerOrigin } from '../../lambda/shared/trigger';
import { auditSearch } from '../../ops/invariants';
import { prng, type Random } from '../../local/dataset';
import { scanAll } from '../../local/table-io';
import { faaRow, foreignRow, icaoManufacturerRow, imageRow, without } from '../typesense-sync/support/rows';
import { indexerRig, sqsRecord, triggerBody, type IndexerRig } from './support';

const KEYS: RowKeys[] = [
  { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1' },
  { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N2' },
  { PK: 'AIRCRAFT#REGISTRY#FOREIGN', SK: 'DETAIL#N1' },
  { PK: 'ICAO#MANUFACTURERS', SK: 'MFR#AIRBUS' },
  { PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N1', SK: 'IMG#2026-01-01#a' },
  { PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N1', SK: 'IMG#2026-01-02#b' },
];

/** A random state for a key's row: absent, indexable with random values, or not indexable. */
function randomRow(random: Random, key: RowKeys): Record<string, unknown> | null {
  const roll = random();
  if (roll < 0.25) return null;
  const value = `v${Math.floor(random() * 4)}`;
  const reg = key.SK.replace('DETAIL#', '');
  let row: Record<string, unknown>;
  if (key.PK.endsWith('#FAA')) row = faaRow(reg, { model: value });
  else if (key.PK.endsWith('#FOREIGN')) row = foreignRow(reg, { model: value });
  else if (key.PK === 'ICAO#MANUFACTURERS') row = icaoManufacturerRow('AIRBUS', { country: value });
  else row = { ...imageRow('N1', key.SK.slice(4)), caption: value };
  row = { ...row, PK: key.PK, SK: key.SK };
  if (roll < 0.4) return without(row as never, key.PK.startsWith('IMAGES') ? 'url' : key.PK === 'ICAO#MANUFACTURERS' ? 'name' : 'manufacturer');
  return row;
}

const pick = <T>(random: Random, values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

async function scenario(rig: IndexerRig, seed: number) {
  const random = prng(seed);
  const sent: { key: RowKeys; origin: TriggerOrigin; hint: 'upsert' | 'delete' }[] = [];
  let event = 0;
  for (let step = 0; step < 25; step += 1) {
    // Some writes, each producing the trigger the stream would.
    for (let w = Math.floor(random() * 3); w > 0; w -= 1) {
      const key = pick(random, KEYS);
      const row = randomRow(random, key);
      if (row) await rig.put(row);
      else await rig.table.doc.send(new DeleteCommand({ TableName: rig.table.tableName, Key: key }));
      event += 1;
      sent.push({ key, origin: { kind: 'stream', eventID: `e${event}`, sequenceNumber: String(event), approximateCreationDateTime: null }, hint: row ? 'upsert' : 'delete' });
    }
    // An indexer batch: random picks among everything ever sent (stale replays of any age),
    // duplicates included; whatever is never picked is lost. Tool origins mixed in.
    const batch = Array.from({ length: 1 + Math.floor(random() * 10) }, () => {
      const t = pick(random, sent.length > 0 ? sent : [{ key: KEYS[0]!, origin: { kind: 'repair', run: 'r0' } as TriggerOrigin, hint: 'upsert' as const }]);
      const origin: TriggerOrigin = random() < 0.2 ? { kind: pick(random, ['backfill', 'repair', 'redrive'] as const), run: `run-${step}` } : t.origin;
      return sqsRecord(triggerBody(t.key, origin, random() < 0.5 ? t.hint : t.hint === 'upsert' ? 'delete' : 'upsert'));
    });
    expect(await rig.failed(batch)).toEqual([]);
  }
  // Last writes whose triggers are all lost (as if their messages never arrived).
  for (let w = 0; w < 3; w += 1) {
    const key = pick(random, KEYS);
    let row = randomRow(random, key);
    while (row === null || Object.keys(row).length < 5) row = randomRow(random, key);
    await rig.put({ ...row, [key.PK === 'ICAO#MANUFACTURERS' ? 'country' : key.PK.startsWith('IMAGES') ? 'caption' : 'model']: `last-${w}` });
    sent.push({ key, origin: { kind: 'stream', eventID: `lost-${w}`, sequenceNumber: '0', approximateCreationDateTime: null }, hint: 'upsert' });
  }
  const before = auditSearch(await scanAll(rig.table.client, rig.table.tableName), await rig.index()).drift.length;
  // Then one trigger per affected key (any origin), in batches of 10.
  const affected = [...new Map(sent.map((t) => [`${t.key.PK}|${t.key.SK}`, t.key])).values()];
  for (let i = 0; i < affected.length; i += 10) {
    expect(await rig.failed(affected.slice(i, i + 10).map((key) => sqsRecord(triggerBody(key, { kind: 'backfill', run: 'final' }))))).toEqual([]);
  }
  const rows = await scanAll(rig.table.client, rig.table.tableName);
  return { audit: auditSearch(rows, await rig.index()), before };
}

describe('I1 through the indexer after stale, duplicated and lost triggers, then one trigger per key (local Typesense stand-in)', () => {
  let rig: IndexerRig;
  beforeEach(async () => {
    rig = await indexerRig();
  });
  afterEach(() => rig.stop());

  const driftBefore: number[] = [];
  it.each([1, 2, 3, 20261123])('seed %i: the index equals the projection of the table', async (seed) => {
    const { audit, before } = await scenario(rig, seed);
    driftBefore.push(before);
    expect(audit.drift).toEqual([]);
    expect(audit.documents).toBeGreaterThan(0);
  }, 60_000);

  it('the scenarios are not vacuous: before the final triggers, lost and stale triggers had left the index wrong', () => {
    expect(driftBefore).toHaveLength(4);
    expect(driftBefore.every((n) => n > 0)).toBe(true);
  });
});
