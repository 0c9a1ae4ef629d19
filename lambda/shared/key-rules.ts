/**
 * Key rules: the one definition of which rows a subsystem owns.
 *
 * A rule describes PK and SK as either an exact value or a literal prefix followed by a
 * regex tail. From it we derive both the coarse Lambda event filter (equals / prefix on
 * `dynamodb.Keys`, so REMOVE records match too) and the exact regex the handler applies.
 */

export type KeyPart =
  | { readonly kind: 'equals'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string; readonly tail: string };

export interface KeyRule {
  readonly PK: KeyPart;
  readonly SK: KeyPart;
}

export interface RowKeys {
  readonly PK: string;
  readonly SK: string;
}

export const equals = (value: string): KeyPart => ({ kind: 'equals', value });

/** A literal prefix, then a tail that must match `tail` (a regex source, anchored at the end). */
export const prefix = (value: string, tail = '.+'): KeyPart => ({ kind: 'prefix', value, tail });

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function keyPartRegex(part: KeyPart): RegExp {
  return part.kind === 'equals'
    ? new RegExp(`^${escapeRegex(part.value)}$`)
    : new RegExp(`^${escapeRegex(part.value)}(?:${part.tail})$`);
}

/** Exact match, as the handler applies it. */
export function ruleMatches(rule: KeyRule, keys: RowKeys): boolean {
  return keyPartRegex(rule.PK).test(keys.PK) && keyPartRegex(rule.SK).test(keys.SK);
}

// ---- Lambda event filter patterns -------------------------------------------------

export type FilterPattern = { readonly [key: string]: FilterPattern | readonly FilterValue[] };
export type FilterValue = string | number | boolean | null | { readonly prefix: string } | { readonly exists: boolean };

const filterValue = (part: KeyPart): FilterValue =>
  part.kind === 'equals' ? part.value : { prefix: part.value };

/** The Lambda filter pattern for one rule: `{"dynamodb":{"Keys":{"PK":{"S":[..]},"SK":{"S":[..]}}}}`. */
export function toFilterPattern(rule: KeyRule): FilterPattern {
  return {
    dynamodb: {
      Keys: {
        PK: { S: [filterValue(rule.PK)] },
        SK: { S: [filterValue(rule.SK)] },
      },
    },
  };
}

/**
 * Evaluates a Lambda filter pattern against an event record, for the grammar we emit
 * (nested objects, arrays as OR, exact values, `prefix`, `exists`). Used by the
 * ownership test and the local event-source-mapping emulator, so both judge the
 * synthesized patterns the way Lambda does.
 */
export function matchesFilterPattern(pattern: unknown, record: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((value) => matchesFilterValue(value, record));
  }
  if (pattern === null || typeof pattern !== 'object') {
    throw new Error(`Unsupported filter pattern node: ${JSON.stringify(pattern)}`);
  }
  return Object.entries(pattern).every(([key, sub]) => {
    const value =
      record !== null && typeof record === 'object' ? (record as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(sub) && sub.some((v) => isObject(v) && 'exists' in v)) {
      return sub.some((v) => matchesFilterValue(v, value));
    }
    if (value === undefined) return false;
    return matchesFilterPattern(sub, value);
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

function matchesFilterValue(expected: unknown, actual: unknown): boolean {
  if (isObject(expected)) {
    if ('prefix' in expected) {
      return typeof actual === 'string' && actual.startsWith(String(expected.prefix));
    }
    if ('exists' in expected) {
      return expected.exists === true ? actual !== undefined : actual === undefined;
    }
    throw new Error(`Unsupported filter operator: ${JSON.stringify(expected)}`);
  }
  return actual === expected;
}

/** True when any of the patterns matches (Lambda ORs the filters of one mapping). */
export function matchesAnyFilter(patterns: readonly unknown[], record: unknown): boolean {
  return patterns.some((p) => matchesFilterPattern(p, record));
}
