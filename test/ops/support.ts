import { Readable } from 'node:stream';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { contributionKey, matcherTupleKey } from '../../lambda/faa-matcher-sync/keys';
import type { Item } from '../../lambda/shared/decode';
import { stderrLogger, type OpsIo } from '../../ops/common';
import type { TestTable } from '../support/dynamodb';

/** Collects what a command printed. */
export function captureIo(isTTY = false): OpsIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, isTTY, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
}

export const quietLogger = () => stderrLogger(captureIo(), 'error');

export async function putAll(table: TestTable, rows: readonly Item[]): Promise<void> {
  for (const Item of rows) await table.doc.send(new PutCommand({ TableName: table.tableName, Item }));
}

export const entityPk = (id: string) => `IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#${id}`;
export const image = (id: string, sk: string, url = `https://img/${id}/${sk}`): Item => ({
  PK: entityPk(id),
  SK: sk,
  org_id: 'SYSTEM',
  entity_type: 'REGISTRATION',
  entity_id: id,
  image_id: `${id}-${sk}`,
  url,
});
export const pointerTo = (img: Item, overrides: Item = {}): Item => ({ PK: img.PK, SK: 'DEFAULT', image_sk: img.SK, image_id: img.image_id, url: img.url, updated_at: '2026-01-01T00:00:00Z', ...overrides });

export const T1 = { type_designator: 'C172', manufacturer: 'CESSNA', model: '172S' };
export const T2 = { type_designator: 'PA28', manufacturer: 'PIPER', model: 'PA-28-181' };
export const link = (sn: string, t = T1): Item => ({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#2072738#SN#${sn}`, ...t });
export const tupleRow = (t: typeof T1, count: number): Item => ({ ...matcherTupleKey(t), ...t, count });
/** A contribution (ledger) row as the matcher writes it: the link counts toward `t` (or toward nothing). */
export const contribution = (sn: string, t: typeof T1 | null): Item => ({
  ...contributionKey({ PK: 'FAA#LINKS', SK: String(link(sn).SK) }),
  link_pk: 'FAA#LINKS',
  link_sk: link(sn).SK,
  ...(t && { ...t, tuple_pk: matcherTupleKey(t).PK, tuple_sk: matcherTupleKey(t).SK }),
});

/** An SDK request handler that answers every request with this HTTP response (an AWS error, as the service sends it). */
export function answering(statusCode: number, headers: Record<string, string>, body: string) {
  return {
    handle: async () => ({ response: { statusCode, headers, body: Readable.from([Buffer.from(body)]) } }),
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  } as never;
}
