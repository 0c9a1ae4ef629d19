import { prefix, type KeyRule } from '../shared/key-rules';

/** Image rows (docs/data-model.md). The pointer row (SK = DEFAULT) is written here and must not match. */
export const IMAGE_KEY_RULES: readonly KeyRule[] = [
  { PK: prefix('IMAGES#', 'ORG#[^#]+#ENTITY#[^#]+#ID#.+'), SK: prefix('IMG#', '.+') },
];
