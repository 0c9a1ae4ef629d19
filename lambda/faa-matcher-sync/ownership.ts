import { equals, prefix, type KeyRule } from '../shared/key-rules';

/** FAA link rows (docs/data-model.md). Matcher tuples and contribution rows live outside this rule. */
export const FAA_LINK_KEY_RULES: readonly KeyRule[] = [
  { PK: equals('FAA#LINKS'), SK: prefix('MFR_MDL_CODE#', '[^#]+#SN#.+') },
];
