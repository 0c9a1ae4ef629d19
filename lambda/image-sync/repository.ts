/**
 * The entity's images and its default-image pointer, over @aws-sdk/lib-dynamodb.
 * Reads are strongly consistent; every write is conditional on the pointer as it was read,
 * so a racing writer is never overwritten blindly (the write fails with
 * ConditionalCheckFailedException and the caller re-reads).
 *
 * Conditions cover the pointer, not the images (a Query cannot be part of a condition). A
 * change to an image after our read is safe anyway: it emits its own stream record, which is
 * processed after this one and reconciles from a fresh read. What this relies on is one
 * reconciler at a time per entity, which a stream mapping gives (records of one partition key
 * are processed in order, never concurrently); other writers of the pointer are handled by the
 * conditions.
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { IMAGE_SK_PREFIX, defaultPointerKey, imageKey, imagePartitionKey, isImageSortKey, type ImageEntity } from './keys';
import {
  DISPLAY_FIELDS,
  POINTER_FIELDS,
  needsPointedRead,
  pointerAttributes,
  type Action,
  type ImageRow,
  type PointerRow,
  type ReconcileState,
} from './reconcile';

/** Only what reconciliation reads: smaller reads, and no exotic attribute (e.g. a huge number) to decode. */
const IMAGE_PROJECTION = ['SK', ...DISPLAY_FIELDS];
const POINTER_PROJECTION = [...POINTER_FIELDS];

const names = (attributes: readonly string[]): Record<string, string> =>
  Object.fromEntries(attributes.map((a) => [`#${a}`, a]));
const projection = (attributes: readonly string[]): string => attributes.map((a) => `#${a}`).join(', ');

export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

/**
 * "The pointer is still exactly as read": it exists and each image-sync attribute has the
 * value read (or is still absent). Attributes other writers may add are not compared.
 */
function unchangedCondition(pointer: PointerRow): {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
} {
  const parts = ['attribute_exists(#PK)'];
  const values: Record<string, unknown> = {};
  for (const field of POINTER_FIELDS) {
    const value = pointer[field];
    if (value === undefined || value === null) {
      parts.push(`attribute_not_exists(#${field})`);
    } else {
      parts.push(`#${field} = :was_${field}`);
      values[`:was_${field}`] = value;
    }
  }
  return { expression: parts.join(' AND '), names: { '#PK': 'PK', ...names(POINTER_FIELDS) }, values };
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

  /** Case 2: create the pointer, only if there still is none. */
  async createDefault(entity: ImageEntity, image: ImageRow, updatedAt: string): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...defaultPointerKey(entity), ...pointerAttributes(image, updatedAt) },
        ConditionExpression: 'attribute_not_exists(#PK)',
        ExpressionAttributeNames: { '#PK': 'PK' },
      }),
    );
  }

  /** Case 3: point at another image, only if the pointer is still as read. */
  async switchDefault(entity: ImageEntity, read: PointerRow, image: ImageRow, updatedAt: string): Promise<void> {
    await this.writePointer(entity, read, image, updatedAt);
  }

  /** Case 4: rewrite the pointer's copy of the image's display fields, only if the pointer is still as read. */
  async repairDefault(entity: ImageEntity, read: PointerRow, image: ImageRow, updatedAt: string): Promise<void> {
    await this.writePointer(entity, read, image, updatedAt);
  }

  /** Case 1: delete the pointer, only if it is still as read. */
  async deleteDefault(entity: ImageEntity, read: PointerRow): Promise<void> {
    const condition = unchangedCondition(read);
    await this.doc.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: defaultPointerKey(entity),
        ConditionExpression: condition.expression,
        ExpressionAttributeNames: condition.names,
        ...(Object.keys(condition.values).length > 0 && { ExpressionAttributeValues: condition.values }),
      }),
    );
  }

  /** Performs a decided action. Throws ConditionalCheckFailedException when the pointer changed since it was read. */
  async execute(entity: ImageEntity, action: Action, updatedAt: string): Promise<void> {
    switch (action.kind) {
      case 'none':
        return;
      case 'create':
        return this.createDefault(entity, action.image, updatedAt);
      case 'switch':
        return this.switchDefault(entity, action.pointer, action.image, updatedAt);
      case 'repair':
        return this.repairDefault(entity, action.pointer, action.image, updatedAt);
      case 'delete':
        return this.deleteDefault(entity, action.pointer);
    }
  }

  /**
   * UpdateItem (not Put) so attributes other writers keep on the pointer survive; display
   * fields the image lacks are removed from the pointer.
   */
  private async writePointer(entity: ImageEntity, read: PointerRow, image: ImageRow, updatedAt: string): Promise<void> {
    const condition = unchangedCondition(read);
    const next = pointerAttributes(image, updatedAt) as Record<string, unknown>;
    const set = POINTER_FIELDS.filter((f) => next[f] !== undefined);
    const remove = POINTER_FIELDS.filter((f) => next[f] === undefined);
    const values: Record<string, unknown> = { ...condition.values };
    for (const field of set) values[`:new_${field}`] = next[field];
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: defaultPointerKey(entity),
        UpdateExpression:
          `SET ${set.map((f) => `#${f} = :new_${f}`).join(', ')}` + (remove.length > 0 ? ` REMOVE ${remove.map((f) => `#${f}`).join(', ')}` : ''),
        ConditionExpression: condition.expression,
        ExpressionAttributeNames: condition.names,
        ExpressionAttributeValues: values,
      }),
    );
  }
}
