/** Row keys as the tools read them from scans and failure records. */
import type { Item } from '../lambda/shared/decode';
import type { RowKeys } from '../lambda/shared/key-rules';

export function keysOf(row: Item): RowKeys {
  if (typeof row.PK !== 'string' || typeof row.SK !== 'string') throw new Error(`row without string PK/SK: ${JSON.stringify({ PK: row.PK, SK: row.SK })}`);
  return { PK: row.PK, SK: row.SK };
}
