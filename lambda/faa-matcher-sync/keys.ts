import type { RowKeys } from '../shared/key-rules';
import type { Tuple } from './domain';

/** Leading key of every matcher tuple row (one partition per type designator). */
export const MATCHER_TUPLE_PK_PREFIX = 'ICAO#MATCHER#';

/** Leading key of every contribution row (which tuple a link is counted in now): one partition per FAA link. */
export const CONTRIBUTION_PK_PREFIX = 'MATCHER#CONTRIB#';

/** Sort-key prefix of a contribution row; the rest is the link's PK (always `FAA#LINKS` today). */
export const CONTRIBUTION_SK_PREFIX = 'LINK#';

/** Key of the row counting one tuple: PK `ICAO#MATCHER#<type_designator>`, SK `MFR#<manufacturer>#MODEL#<model>`. */
export function matcherTupleKey(tuple: Tuple): RowKeys {
  return {
    PK: `${MATCHER_TUPLE_PK_PREFIX}${tuple.type_designator}`,
    SK: `MFR#${tuple.manufacturer}#MODEL#${tuple.model}`,
  };
}

/**
 * Key of the contribution row of one FAA link: PK `MATCHER#CONTRIB#<link SK>`, SK `LINK#<link PK>`
 * (so SK is the fixed `LINK#FAA#LINKS` for every owned link). Its own partition per link keeps
 * contribution writes spread out, and neither part matches any mapping's filter.
 */
export function contributionKey(linkKeys: RowKeys): RowKeys {
  return {
    PK: `${CONTRIBUTION_PK_PREFIX}${linkKeys.SK}`,
    SK: `${CONTRIBUTION_SK_PREFIX}${linkKeys.PK}`,
  };
}

/**
 * Takeover: the part of a tuple row's `count` that another worker counted, set by
 * `prepareTakeover` and subtracted by `releaseTakeover`. Reconcile never touches it.
 */
export const LEGACY_COUNT_ATTRIBUTE = 'legacy_count';

/**
 * A fresh random token written with every change of a tuple row's count (the matcher's +1/-1 and
 * a recount). A recount reads it before counting the contribution rows and writes only if it is
 * unchanged: nothing moved the count meanwhile, which the count alone cannot show (+1 then -1).
 */
export const COUNT_TOKEN_ATTRIBUTE = 'count_token';
