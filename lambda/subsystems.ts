import { FAA_LINK_KEY_RULES } from './faa-matcher-sync/ownership';
import { IMAGE_KEY_RULES } from './image-sync/ownership';
import { ruleMatches, toFilterPattern, type FilterPattern, type KeyRule, type RowKeys } from './shared/key-rules';
import { TYPESENSE_KEY_RULES } from './typesense-sync/specs';

export const SUBSYSTEM_NAMES = ['typesense-sync', 'image-sync', 'faa-matcher-sync'] as const;
export type SubsystemName = (typeof SUBSYSTEM_NAMES)[number];

/** The key rules of each subsystem: the stack's filters, the handlers and the local emulator all read these. */
export const KEY_RULES: Readonly<Record<SubsystemName, readonly KeyRule[]>> = {
  'typesense-sync': TYPESENSE_KEY_RULES,
  'image-sync': IMAGE_KEY_RULES,
  'faa-matcher-sync': FAA_LINK_KEY_RULES,
};

/** Lambda event filter patterns for a subsystem's mapping (at most 5 per mapping by default). */
export function filterPatterns(name: SubsystemName): FilterPattern[] {
  return KEY_RULES[name].map(toFilterPattern);
}

/** Exact ownership: true when one of the subsystem's rules matches the keys. */
export function owns(name: SubsystemName, keys: RowKeys): boolean {
  return KEY_RULES[name].some((rule) => ruleMatches(rule, keys));
}
