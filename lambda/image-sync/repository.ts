/**
 * The entity's images and its default-image pointer, over @aws-sdk/lib-dynamodb.
 * Reads are strongly consistent. Every write is one TransactWriteItems conditioned on both
 * states it was decided from: the pointer as read, and the source image it names
 * (a ConditionCheck), so a racing writer is never overwritten blindly and a reconcile that
 * read stale images cannot write. Nothing relies on one reconciler at a time per entity:
 * tools and the stream handler may reconcile the same entity concurrently.
 */
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { IMAGE_SK_PREFIX, defaultPointerKey, imageKey, imagePartitionKey, isImageSortKey, type ImageEntity } from './keys';
import {
  DISPLAY_FIELDS,
  POINTER_FIELDS,
  needsPointedRead,
  pointerAttributes,
  sourceCheck,
  type Action,
  type ImageRow,
  type PointerRow,
  type ReconcileState,
  type SourceCheck,
} from './reconcile';

/** The items of a pointer transaction, by position (as CancellationReasons lists them). */
export const TRANSACTION_ITEMS = ['pointer', 'image'] as const;

/** Only what reconciliation reads: smaller reads, and no exotic attribute (e.g. a huge number) to decode. */
const IMAGE_PROJECTION = ['SK', ...DISPLAY_FIELDS];
const POINTER_PROJECTION = [...POINTER_FIELDS];

const names = (attributes: readonly string[]): Record<string, string> =>
  Object.fromEntries(attributes.map((a) => [`#${a}`, a]));
const projection = (attributes: readonly string[]): string => attributes.map((a) => `#${a}`).join(', ');

interface Condition {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/** DynamoDB's NULL is read as absent (reconcile.ts), so "still absent" accepts a NULL too. */
const absent = (field: string) => `(attribute_not_exists(#${field}) OR attribute_type(#${field}, :null_type))`;

/**
 * "The source is still as read": the image exists with exactly the display fields
 * being copied (equal values; absent ones still absent), or the named image still does not exist.
 */
function sourceCondition(check: SourceCheck): Condition {
  if (check.kind === 'image-absent') return { expression: 'attribute_not_exists(#PK)', names: { '#PK': 'PK' }, values: {} };
  return asRead(check.image, DISPLAY_FIELDS, 'src');
}

const withValues = (values: Record<string, unknown>) => (Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {});

/**
 * "The pointer is still exactly as read": it exists and each image-sync attribute has the
 * value read (or is still absent or NULL). Attributes other writers may add are not compared.
 */
const unchangedCondition = (pointer: PointerRow): Condition => asRead(pointer, POINTER_FIELDS, 'was');

/** The row exists and each of `fields` has the value read, or is still absent or NULL (`:<tag>_<field>` placeholders). */
function asRead(row: Readonly<Record<string, unknown>>, fields: readonly string[], tag: string): Condition {
  const parts = ['attribute_exists(#PK)'];
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    const value = row[field];
    if (value === undefined || value === null) {
      parts.push(absent(field));
      values[':null_type'] = 'NULL';
    } else {
      parts.push(`#${field} = :${tag}_${field}`);
      values[`:${tag}_${field}`] = value;
    }
  }
  return { expression: parts.join(' AND '), names: { '#PK': 'PK', ...names(fields) }, values };
}

export class ImageRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private imageQuery(entity: ImageEntity): QueryCommandInput {
    return {
      TableName: this.tableName,
      KeyConditionExpression: '#PK = :pk AND begins_with(#SK, :img)',
      ExpressionAttributeNames: { '#PK': 'PK', ...names(IMAGE_PROJECTION) },
      ExpressionAttributeValues: { ':pk': imagePartitionKey(entity), ':img': IMAGE_SK_PREFIX },
      ProjectionExpression: projection(IMAGE_PROJECTION),
      ScanIndexForward: false,
      ConsistentRead: true,
    };
  }

  /** The newest image (greatest SK), strongly consistent: one Query, newest first, Limit 1. */
  async newestImage(entity: ImageEntity): Promise<ImageRow | undefined> {
    const result = await this.doc.send(new QueryCommand({ ...this.imageQuery(entity), Limit: 1 }));
    return result.Items?.[0] as ImageRow | undefined;
  }

  /** Every image of the entity, newest first (all pages). For audits and tests; reconciliation needs only the newest. */
  async listImages(entity: ImageEntity): Promise<ImageRow[]> {
    const images: ImageRow[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({ ...this.imageQuery(entity), ExclusiveStartKey: start }));
      images.push(...((page.Items ?? []) as ImageRow[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return images;
  }

  /** One image by sort key (consistent GetItem); undefined when it does not exist. */
  async getImage(entity: ImageEntity, imageSk: string): Promise<ImageRow | undefined> {
    if (!isImageSortKey(imageSk)) return undefined;
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: imageKey(entity, imageSk),
        ProjectionExpression: projection(IMAGE_PROJECTION),
        ExpressionAttributeNames: names(IMAGE_PROJECTION),
        ConsistentRead: true,
      }),
    );
    return result.Item as ImageRow | undefined;
  }

  /** The pointer row (consistent GetItem); undefined when absent. */
  async getDefault(entity: ImageEntity): Promise<PointerRow | undefined> {
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: defaultPointerKey(entity),
        ProjectionExpression: `#PK, ${projection(POINTER_PROJECTION)}`,
        ExpressionAttributeNames: { '#PK': 'PK', ...names(POINTER_PROJECTION) },
        ConsistentRead: true,
      }),
    );
    if (!result.Item) return undefined;
    const { PK: _pk, ...pointer } = result.Item;
    return pointer;
  }

  /**
   * The state reconciliation decides on: newest image and pointer (two reads in parallel),
   * plus the pointed image when the pointer names one other than the newest.
   */
  async readState(entity: ImageEntity): Promise<ReconcileState> {
    const [newest, pointer] = await Promise.all([this.newestImage(entity), this.getDefault(entity)]);
    const pointed = needsPointedRead(pointer, newest) ? await this.getImage(entity, pointer!.image_sk as string) : undefined;
    return { newest, pointer, pointed };
  }

  /**
   * Performs a decided action as one TransactWriteItems: the pointer write (item 0) and the
   * source ConditionCheck (item 1) when there is one. Throws TransactionCanceledException
   * when either changed since it was read (the caller re-reads and decides again).
   */
  async execute(entity: ImageEntity, action: Action, updatedAt: string): Promise<void> {
    if (action.kind === 'none') return;
    const check = sourceCheck(action);
    const pointerWrite = this.pointerWrite(entity, action, updatedAt);
    const items: Record<string, unknown>[] = [pointerWrite];
    if (check) {
      const key = check.kind === 'image-as-read' ? imageKey(entity, check.image.SK) : imageKey(entity, check.imageSk);
      const condition = sourceCondition(check);
      items.push({
        ConditionCheck: {
          TableName: this.tableName,
          Key: key,
          ConditionExpression: condition.expression,
          ExpressionAttributeNames: condition.names,
          ...withValues(condition.values),
        },
      });
    }
    await this.doc.send(new TransactWriteCommand({ TransactItems: items }));
  }

  private pointerWrite(entity: ImageEntity, action: Exclude<Action, { kind: 'none' }>, updatedAt: string): Record<string, unknown> {
    const Key = defaultPointerKey(entity);
    const TableName = this.tableName;
    switch (action.kind) {
      // Case 2: create, only if there still is none.
      case 'create':
        return {
          Put: {
            TableName,
            Item: { ...Key, ...pointerAttributes(action.image, updatedAt) },
            ConditionExpression: 'attribute_not_exists(#PK)',
            ExpressionAttributeNames: { '#PK': 'PK' },
          },
        };
      // Case 1: delete, only if the pointer is still as read.
      case 'delete': {
        const condition = unchangedCondition(action.pointer);
        return { Delete: { TableName, Key, ConditionExpression: condition.expression, ExpressionAttributeNames: condition.names, ...withValues(condition.values) } };
      }
      // Cases 3 and 4: point at the image (another one, or the same with fresh fields), only if the pointer is still as read.
      case 'switch':
      case 'repair':
        return { Update: this.pointerUpdate(Key, action.pointer, action.image, updatedAt) };
    }
  }

  /**
   * UpdateItem (not Put) so attributes other writers keep on the pointer survive; display
   * fields the image lacks are removed from the pointer.
   */
  private pointerUpdate(Key: Record<string, string>, read: PointerRow, image: ImageRow, updatedAt: string): Record<string, unknown> {
    const condition = unchangedCondition(read);
    const next = pointerAttributes(image, updatedAt) as Record<string, unknown>;
    const set = POINTER_FIELDS.filter((f) => next[f] !== undefined);
    const remove = POINTER_FIELDS.filter((f) => next[f] === undefined);
    const values: Record<string, unknown> = { ...condition.values };
    for (const field of set) values[`:new_${field}`] = next[field];
    return {
      TableName: this.tableName,
      Key,
      UpdateExpression:
        `SET ${set.map((f) => `#${f} = :new_${f}`).join(', ')}` + (remove.length > 0 ? ` REMOVE ${remove.map((f) => `#${f}`).join(', ')}` : ''),
      ConditionExpression: condition.expression,
      ExpressionAttributeNames: condition.names,
      ExpressionAttributeValues: values,
    };
  }
}
