/**
 * image-sync, level-triggered (DESIGN §9): requests and capacity units per image event and per
 * replay of an unchanged key, on a bare table (only the benchmarked handler touches it).
 * Baseline in the same run: version 1's writes, i.e. the same reconcile with the pointer write
 * sent alone as a plain conditional write (no transaction, no ConditionCheck on the image).
 * The §9 race is run against both, to show what the extra write capacity buys.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord } from 'aws-lambda';
import { createImageHandler, createImageReconciler, type ImageSyncDeps } from '../lambda/image-sync/handler';
import { DEFAULT_SK, imagePartitionKey, type ImageEntity } from '../lambda/image-sync/keys';
import { toolTriggers } from '../lambda/shared/trigger';
import { localClientConfig } from '../local/dynamodb-local';
import { createTestTable } from '../test/support/dynamodb';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../test/support/events';

type Figures = Record<string, number | string>;
type Row = Record<string, unknown> & { PK: string; SK: string };
const ENTITIES = 20;
const READS = new Set(['GetItem', 'Query', 'BatchGetItem']);

/** A document client that counts requests (reads, writes) and the capacity units DynamoDB Local reports. */
function meteredDoc(endpoint: string) {
  const client = new DynamoDBClient(localClientConfig(endpoint));
  const m = { reads: 0, writes: 0, rcu: 0, wcu: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const read = READS.has(String(context.commandName).replace(/Command$/, ''));
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
      if (read) m.reads += 1;
      else m.writes += 1;
      const result = await next(args);
      const used = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      const units = [used ?? []].flat().reduce((sum: number, c) => sum + ((c as { CapacityUnits?: number }).CapacityUnits ?? 0), 0);
      if (read) m.rcu += units;
      else m.wcu += units;
      return result;
    },
    { step: 'initialize', name: 'meter' },
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { doc, m, reset: () => Object.assign(m, { reads: 0, writes: 0, rcu: 0, wcu: 0 }), destroy: () => client.destroy() };
}

/**
 * Version 1's writes: the transaction's pointer write (item 0, with its condition on the pointer
 * as read) sent alone; the ConditionCheck on the image is dropped. Everything else is the same code.
 */
function pointerConditionOnly(doc: DynamoDBDocumentClient): DynamoDBDocumentClient {
  const send = (command: unknown) => {
    if (!(command instanceof TransactWriteCommand)) return doc.send(command as PutCommand);
    const [kind, params] = Object.entries(command.input.TransactItems![0]!)[0] as [string, never];
    if (kind === 'Put') return doc.send(new PutCommand(params));
    if (kind === 'Update') return doc.send(new UpdateCommand(params));
    return doc.send(new DeleteCommand(params));
  };
  return { send } as unknown as DynamoDBDocumentClient;
}

const silent = new Logger({ serviceName: 'image-sync', logLevel: 'SILENT' });

export async function benchImageReconcile(endpoint: string): Promise<Figures> {
  const { tableName, doc: setup, drop } = await createTestTable('bench-img-rec', endpoint);
  const meter = meteredDoc(endpoint);
  const deps = (doc: DynamoDBDocumentClient): ImageSyncDeps => ({ doc, tableName, logger: silent });
  const designs = { v2: createImageHandler(deps(meter.doc)), v1: createImageHandler(deps(pointerConditionOnly(meter.doc))) };

  let serial = 0;
  const entity = (): ImageEntity => ({ orgId: 'BENCH', entityType: 'REGISTRATION', entityId: `N${++serial}` });
  const image = (e: ImageEntity, n: number, url = `https://img.example/${e.entityId}/${n}.jpg`): Row => ({
    PK: imagePartitionKey(e), SK: `IMG#${n}`, org_id: e.orgId, entity_type: e.entityType, entity_id: e.entityId, image_id: `${e.entityId}-${n}`, url, caption: `photo ${n}`,
  });
  const put = (row: Row) => setup.send(new PutCommand({ TableName: tableName, Item: row }));
  const del = (row: Row) => setup.send(new DeleteCommand({ TableName: tableName, Key: { PK: row.PK, SK: row.SK } }));
  const pointTo = (row: Row) =>
    put({ PK: row.PK, SK: DEFAULT_SK, image_sk: row.SK, image_id: row.image_id, url: row.url, caption: row.caption, updated_at: 'earlier' });

  /** Each scenario prepares an entity (unmetered) and returns the stream record of the measured event. */
  const scenarios: Record<string, () => Promise<DynamoDBRecord>> = {
    'insert first image (create)': async () => {
      const row = image(entity(), 1);
      await put(row);
      return insertRecord(row);
    },
    'insert newer image (pointer kept)': async () => {
      const e = entity();
      await put(image(e, 1));
      await pointTo(image(e, 1));
      await put(image(e, 2));
      return insertRecord(image(e, 2));
    },
    'modify display field (repair)': async () => {
      const e = entity();
      await put(image(e, 1));
      await pointTo(image(e, 1));
      await put(image(e, 1, 'https://cdn.example/moved.jpg'));
      return modifyRecord(image(e, 1), image(e, 1, 'https://cdn.example/moved.jpg'));
    },
    'delete pointed image (switch)': async () => {
      const e = entity();
      for (const n of [1, 2]) await put(image(e, n));
      await pointTo(image(e, 2));
      await del(image(e, 2));
      return removeRecord(image(e, 2));
    },
    'delete last image (delete pointer)': async () => {
      const e = entity();
      await put(image(e, 1));
      await pointTo(image(e, 1));
      await del(image(e, 1));
      return removeRecord(image(e, 1));
    },
  };

  const figures: Figures = { 'entities per scenario': ENTITIES };
  const perEvent = (n: number) => +(n / ENTITIES).toFixed(2);
  const measure = async (handler: (typeof designs)['v2'], records: DynamoDBRecord[]) => {
    meter.reset();
    for (const record of records) await handler(streamEvent(record));
    const m = { ...meter.m };
    return { requests: `${perEvent(m.reads)}+${perEvent(m.writes)}`, units: `${perEvent(m.rcu)}+${perEvent(m.wcu)}` };
  };
  for (const [name, prepare] of Object.entries(scenarios)) {
    const measured: Record<string, { event: { requests: string; units: string }; replay: { requests: string; units: string } }> = {};
    for (const [design, handler] of Object.entries(designs)) {
      const records: DynamoDBRecord[] = [];
      for (let i = 0; i < ENTITIES; i++) records.push(await prepare());
      const event = await measure(handler, records);
      measured[design] = { event, replay: await measure(handler, records) }; // a replay: the key is already true
    }
    const { v2, v1 } = measured as Record<'v1' | 'v2', (typeof measured)[string]>;
    figures[`${name}: requests per event, reads+writes (v1)`] = `${v2.event.requests} (${v1.event.requests})`;
    figures[`${name}: capacity units per event, RCU+WCU (v1)`] = `${v2.event.units} (${v1.event.units})`;
    figures[`${name}: replay of the unchanged key, requests reads+writes (v1)`] = `${v2.replay.requests} (${v1.replay.requests})`;
  }

  // The §9 race, with each design's writes: a tool reads "image exists, no pointer", pauses; the
  // image is deleted and the stream handler reconciles that (nothing to write); the tool resumes.
  for (const [design, doc] of [['v2', meter.doc], ['v1 baseline', pointerConditionOnly(meter.doc)]] as const) {
    const e = entity();
    const row = image(e, 1);
    await put(row);
    let paused = false;
    const tool = createImageReconciler({
      ...deps(doc),
      hooks: {
        afterRead: async () => {
          if (paused) return;
          paused = true;
          await del(row);
          await designs.v2(streamEvent(removeRecord(row)));
        },
      },
    });
    await tool.reconcile(toolTriggers([{ PK: row.PK, SK: row.SK }], 'backfill', 'bench'));
    const { Item } = await setup.send(new GetCommand({ TableName: tableName, Key: { PK: row.PK, SK: DEFAULT_SK }, ConsistentRead: true }));
    figures[`§9 race, create after the image was deleted, ${design}: pointer left without images`] = Item ? 'yes (I2 violated)' : 'no';
  }

  meter.destroy();
  await drop();
  return figures;
}
