import { CONTRIBUTION_PK_PREFIX, MATCHER_TUPLE_PK_PREFIX } from '../lambda/faa-matcher-sync/keys';
import { FAA_LINK_KEY_RULES } from '../lambda/faa-matcher-sync/ownership';
import { IMAGE_PK_PREFIX } from '../lambda/image-sync/keys';
import type { KeyPart } from '../lambda/shared/key-rules';
import { SPEC_KEYS } from '../lambda/typesense-sync/specs';

/** The functions that read or write table items (typesense-sync reads only the stream). */
export type TableUser = 'image-sync' | 'faa-matcher-sync' | 'typesense-indexer';

/** A key part as an IAM dynamodb:LeadingKeys value (StringLike): equals exact, prefix `prefix*`. */
const leadingKey = (part: KeyPart): string => (part.kind === 'equals' ? part.value : `${part.value}*`);

/**
 * Leading keys (partition keys) each function may touch, for `ForAllValues:StringLike`
 * on dynamodb:LeadingKeys. They cover the rows it reads and writes, and nothing else.
 */
export const LEADING_KEYS: Readonly<Record<TableUser, readonly string[]>> = {
  // Images and the default pointer live in the entity's IMAGES# partition.
  'image-sync': [`${IMAGE_PK_PREFIX}*`],
  // Reads and condition-checks link rows; writes contribution and tuple rows.
  'faa-matcher-sync': [...new Set(FAA_LINK_KEY_RULES.map((r) => leadingKey(r.PK))), `${MATCHER_TUPLE_PK_PREFIX}*`, `${CONTRIBUTION_PK_PREFIX}*`],
  // Reads the source rows of the indexed specs only.
  'typesense-indexer': [...new Set(SPEC_KEYS.filter((s) => s.collection !== null).map((s) => leadingKey(s.keys.PK)))],
};

/**
 * The DynamoDB actions each function sends, no more (a stack test records them against
 * DynamoDB Local). TransactWriteItems has no IAM action of its own: each of its
 * items needs the action of its kind (Put → PutItem, ConditionCheck → ConditionCheckItem, ...).
 */
export const TABLE_ACTIONS: Readonly<Record<TableUser, readonly string[]>> = {
  // Query the entity's images, GetItem the pointer and image, one transaction per pointer write.
  'image-sync': ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
  // BatchGetItem link + contribution; transaction: Put/Delete contribution, ConditionCheck link, Update/Delete tuples.
  'faa-matcher-sync': ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
  // BatchGetItem of the rows its messages name (strongly consistent).
  'typesense-indexer': ['dynamodb:BatchGetItem'],
};
