/** Helpers for the image-sync suites (real tables on DynamoDB Local through test/support). */
import type { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { localClientConfig } from '../../local/dynamodb-local';
import { createImageHandler, createImageReconciler, type ImageSyncDeps } from '../../lambda/image-sync/handler';
import { defaultPointerKey, imagePartitionKey, type EntityType, type ImageEntity } from '../../lambda/image-sync/keys';
import { i2Violations, type ImageRow } from '../../lambda/image-sync/reconcile';
import type { RowKeys } from '../../lambda/shared/key-rules';
import { toolTriggers } from '../../lambda/shared/trigger';
import type { TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, removeRecord } from '../support/events';

export type Row = Record<string, unknown> & { PK: string; SK: string };

export const FIXED_NOW = new Date('2026-05-01T12:00:00.000Z');
export const fixedClock = () => FIXED_NOW;

/** A Powertools-shaped logger that keeps every line, so tests can read (and bound) what gets logged. */
export function captureLogger() {
  const lines: { level: string; message: string; extra: unknown[] }[] = [];
  const log = (level: string) => (message: string, ...extra: unknown[]) => void lines.push({ level, message, extra });
  const logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    addContext: () => undefined,
  } as unknown as Logger;
  return { logger, lines, text: () => lines.map((l) => JSON.stringify(l, errorReplacer)).join('\n') };
}

const errorReplacer = (_key: string, value: unknown) =>
  value instanceof Error ? { name: value.name, message: value.message } : value;

export interface SentCommand {
  readonly command: string;
  readonly input: Record<string, any>;
}

/**
 * A document client of its own (own middleware stack) over the test table's endpoint that
 * records every command it sends and can run a hook just before each one (to inject races).
 */
export function instrumentedClient(table: TestTable) {
  const client = new DynamoDBClient(localClientConfig(table.endpoint));
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const sent: SentCommand[] = [];
  let before: ((command: SentCommand) => Promise<void> | void) | undefined;
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const command = { command: context.commandName as string, input: args.input as Record<string, any> };
      sent.push(command);
      if (before) await before(command);
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return {
    doc,
    sent,
    /** Runs `hook` before each later command (replacing any previous hook); pass undefined to stop. */
    beforeSend(hook: ((command: SentCommand) => Promise<void> | void) | undefined) {
      before = hook;
    },
    reset() {
      sent.length = 0;
    },
    writes: () => sent.filter((c) => WRITE_COMMANDS.has(c.command)),
    reads: () => sent.filter((c) => !WRITE_COMMANDS.has(c.command)),
    destroy: () => client.destroy(),
  };
}

export const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'TransactWriteItemsCommand', 'BatchWriteItemCommand']);

export type Instrumented = ReturnType<typeof instrumentedClient>;

/** An image-sync handler over an instrumented client, with a fixed clock and a capturing logger. */
export function imageSync(table: TestTable, overrides: Partial<ImageSyncDeps> = {}) {
  const io = instrumentedClient(table);
  const log = captureLogger();
  const handler = createImageHandler({ doc: io.doc, tableName: table.tableName, logger: log.logger, clock: fixedClock, ...overrides });
  return { handler, io, log, run: (...records: DynamoDBRecord[]) => handler({ Records: records }) };
}

/** The reconciler the ops tools use, over an instrumented client; `reconcile(...keys)` sends repair triggers. */
export function imageReconciler(table: TestTable, overrides: Partial<ImageSyncDeps> = {}) {
  const io = instrumentedClient(table);
  const log = captureLogger();
  const reconciler = createImageReconciler({ doc: io.doc, tableName: table.tableName, logger: log.logger, clock: fixedClock, ...overrides });
  return { reconciler, io, log, reconcile: (...keys: RowKeys[]) => reconciler.reconcile(toolTriggers(keys, 'repair', 'test-run')) };
}

/** What each TransactWriteItems sent: per item, its kind and the SK it names (e.g. `Update DEFAULT`, `ConditionCheck IMG#000001`). */
export function transactions(io: Instrumented): string[][] {
  return io.writes().map((w) =>
    w.command === 'TransactWriteItemsCommand'
      ? (w.input.TransactItems as Record<string, { Key?: { SK: string }; Item?: { SK: string } }>[]).map((item) => {
          const [kind, body] = Object.entries(item)[0]!;
          return `${kind} ${(body.Key ?? body.Item)!.SK}`;
        })
      : [w.command],
  );
}

/** I2 violations of one entity, read from the table (consistent). */
export async function i2Of(table: TestTable, entity: ImageEntity): Promise<string[]> {
  const rows = await readPartition(table, entity);
  const images = rows.filter((r) => String(r.SK).startsWith('IMG#')) as ImageRow[];
  return i2Violations(images, rows.find((r) => r.SK === 'DEFAULT'));
}

let counter = 0;
/** A fresh entity (unique id per call, so tests sharing a table never see each other's rows). */
export function newEntity(entityType: EntityType = 'REGISTRATION', orgId = 'SYSTEM'): ImageEntity {
  counter += 1;
  const id = entityType === 'REGISTRATION' ? `N${counter}${process.pid % 1000}AB` : `B7${counter}X${process.pid % 1000}`;
  return { orgId, entityType, entityId: id };
}

/** An image row of `entity`; `n` orders images (greater n = newer). */
export function imageRow(entity: ImageEntity, n: number, overrides: Record<string, unknown> = {}): Row {
  const stamp = `2026-01-01T00:00:${String(n).padStart(2, '0')}Z`;
  return {
    PK: imagePartitionKey(entity),
    SK: `IMG#${String(n).padStart(6, '0')}`,
    org_id: entity.orgId,
    entity_type: entity.entityType,
    entity_id: entity.entityId,
    image_id: `img-${entity.entityId}-${n}`,
    url: `https://img.example/${entity.entityId}/${n}.jpg`,
    thumbnail_url: `https://img.example/${entity.entityId}/${n}-t.jpg`,
    caption: `Photo ${n}`,
    credit: 'private photographer (never logged)',
    width: 1600,
    height: 1200,
    created_at: stamp,
    ...overrides,
  };
}

/**
 * Table writes that return the stream record DynamoDB would emit for them, built from the
 * real before/after item images (ReturnValues ALL_OLD).
 */
export function tableWriter(table: TestTable) {
  const put = async (row: Row): Promise<DynamoDBRecord> => {
    const { Attributes: old } = await table.doc.send(new PutCommand({ TableName: table.tableName, Item: row, ReturnValues: 'ALL_OLD' }));
    return old ? modifyRecord(old as Row, row) : insertRecord(row);
  };
  const remove = async (key: { PK: string; SK: string }): Promise<DynamoDBRecord | undefined> => {
    const { Attributes: old } = await table.doc.send(
      new DeleteCommand({ TableName: table.tableName, Key: { PK: key.PK, SK: key.SK }, ReturnValues: 'ALL_OLD' }),
    );
    return old ? removeRecord(old as Row) : undefined;
  };
  return { put, remove };
}

export async function readPointer(table: TestTable, entity: ImageEntity): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.doc.send(new GetCommand({ TableName: table.tableName, Key: defaultPointerKey(entity), ConsistentRead: true }));
  return Item;
}

export async function writePointer(table: TestTable, entity: ImageEntity, attributes: Record<string, unknown>): Promise<void> {
  await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { ...defaultPointerKey(entity), ...attributes } }));
}

/** The pointer attributes image-sync would write for `row`. */
export function pointerFor(row: Row, updatedAt = FIXED_NOW.toISOString()): Record<string, unknown> {
  const pointer: Record<string, unknown> = { image_sk: row.SK };
  for (const field of ['image_id', 'url', 'thumbnail_url', 'caption']) if (row[field] !== undefined) pointer[field] = row[field];
  return { ...pointer, updated_at: updatedAt };
}

/** Every row of the entity's partition (images and pointer), consistent. */
export async function readPartition(table: TestTable, entity: ImageEntity): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': imagePartitionKey(entity) },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
