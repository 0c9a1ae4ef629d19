/**
 * I1, streamed: the table side looks up the documents of the rows it scans (100 ids at a time),
 * the index side reads each collection's export one document at a time and looks up the rows
 * they come from (100 keys at a time). Memory holds one batch per collection, never a collection.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Item } from '../lambda/shared/decode';
import type { RowKeys } from '../lambda/shared/key-rules';
import { TYPESENSE_SPECS, matchIndexedSpec, type IndexedSpec } from '../lambda/typesense-sync/specs';
import { batchGet, Batcher, rowId } from './audit-io';
import { documentFinding, extraDocumentFinding, isFinding, projectRow, type Finding, type Projected } from './invariants';
import type { SearchIndexReader } from './typesense';

/** Inverse of `encodeIdPart`; null when `part` is not an encoding. */
function decodeIdPart(part: string): string | null {
  if (part === '_') return '';
  const bytes: number[] = [];
  for (let i = 0; i < part.length; ) {
    if (part[i] === '_') {
      if (!/^[0-9A-F]{2}$/.test(part.slice(i + 1, i + 3))) return null;
      bytes.push(parseInt(part.slice(i + 1, i + 3), 16));
      i += 3;
    } else bytes.push(...Buffer.from(part[i++]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * The key of the row a document of `collection` would come from, or null when no row can
 * project to that id. Candidates are built from the id's decoded parts (the key tails) and
 * kept only if the spec maps them back to exactly this id.
 */
export function sourceKeyOf(collection: string, id: string): RowKeys | null {
  const parts = id.split('.').map(decodeIdPart);
  if (parts.some((p) => p === null)) return null;
  const tails = parts as string[];
  for (const spec of TYPESENSE_SPECS) {
    if (spec.collection !== collection) continue;
    const pk = spec.keys.PK.kind === 'equals' ? spec.keys.PK.value : spec.keys.PK.value + tails[0];
    const candidate = { PK: pk, SK: spec.keys.SK.value + tails[tails.length - 1] };
    const owner = matchIndexedSpec(candidate);
    if (owner === spec && (owner as IndexedSpec).documentId(candidate) === id) return candidate;
  }
  return null;
}

/** Re-evaluates documents strongly consistently: the row read again, the document fetched again. */
export async function evaluateDocuments(
  client: DynamoDBClient,
  tableName: string,
  reader: SearchIndexReader,
  documents: readonly { readonly collection: string; readonly id: string; readonly key: RowKeys | null }[],
): Promise<Finding[]> {
  const keys = documents.flatMap((d) => (d.key ? [d.key] : []));
  const rows = await batchGet(client, tableName, keys, { consistent: true });
  const findings: Finding[] = [];
  for (const collection of new Set(documents.map((d) => d.collection))) {
    const mine = documents.filter((d) => d.collection === collection);
    const indexed = await reader.get(collection, mine.map((d) => d.id));
    for (const d of mine) {
      const row = d.key ? rows.get(rowId(d.key)) : undefined;
      const p = row ? projectRow(row) : null;
      if (p && isFinding(p)) findings.push(p);
      else if (p && p.collection === collection && p.id === d.id) {
        const f = documentFinding(p, indexed.get(d.id));
        if (f) findings.push(f);
      } else if (indexed.has(d.id)) findings.push(extraDocumentFinding(collection, d.id));
    }
  }
  return findings;
}

/** The I1 part of the first pass. */
export class SearchCheck {
  /** Rows that project to a document. */
  documents = 0;
  /** Documents read from the index. */
  indexed = 0;
  private readonly tableSide = new Map<string, Batcher<Projected>>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly reader: SearchIndexReader,
    private readonly report: (f: Finding) => void,
  ) {}

  /** Table side: a scanned row's document against the one the index holds under its id. */
  async row(row: Item): Promise<void> {
    const p = projectRow(row);
    if (p === null) return;
    if (isFinding(p)) return this.report(p);
    this.documents += 1;
    let batch = this.tableSide.get(p.collection);
    if (!batch) {
      batch = new Batcher<Projected>(100, async (items) => {
        const indexed = await this.reader.get(p.collection, items.map((i) => i.id));
        for (const item of items) {
          const f = documentFinding(item, indexed.get(item.id));
          if (f) this.report(f);
        }
      });
      this.tableSide.set(p.collection, batch);
    }
    await batch.add(p);
  }

  async finishTable(): Promise<void> {
    for (const batch of this.tableSide.values()) await batch.drain();
  }

  /** Index side: every document whose row is gone or projects to no document with its id (stale ones were found from the table side). */
  async indexSide(): Promise<void> {
    for (const collection of this.reader.collections) {
      const batch = new Batcher<{ id: string; key: RowKeys }>(100, async (items) => {
        const rows = await batchGet(this.client, this.tableName, items.map((i) => i.key), { consistent: false });
        for (const { id, key } of items) {
          const row = rows.get(rowId(key));
          const p = row ? projectRow(row) : null;
          if (p && isFinding(p)) continue; // reported from the table side
          if (!p || p.collection !== collection || p.id !== id) this.report(extraDocumentFinding(collection, id));
        }
      });
      for await (const doc of this.reader.documents(collection)) {
        this.indexed += 1;
        const key = sourceKeyOf(collection, doc.id);
        if (key) await batch.add({ id: doc.id, key });
        else this.report(extraDocumentFinding(collection, doc.id));
      }
      await batch.drain();
    }
  }
}
