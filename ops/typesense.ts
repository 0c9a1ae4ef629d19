/** The search index as `ops audit` reads it: every document of each collection, through Typesense's export API (official client). */
import { Client, Errors } from 'typesense';
import { COLLECTION_SCHEMAS } from '../lambda/typesense-sync/specs';
import type { IndexSnapshot } from './invariants';
import { UsageError } from './common';

/** The API key comes from the environment variable named on the command line, never from the command line itself. */
export function apiKeyFromEnv(variable: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (!variable) throw new UsageError('--typesense-url needs --typesense-api-key-env VAR (the name of an environment variable holding the key)');
  const key = env[variable];
  if (!key) throw new UsageError(`--typesense-api-key-env: environment variable ${variable} is not set or empty`);
  return key;
}

export async function readTypesenseIndex(url: string, apiKey: string, collections: readonly string[] = COLLECTION_SCHEMAS.map((s) => s.name)): Promise<IndexSnapshot> {
  const client = new Client({ nodes: [{ url }], apiKey, connectionTimeoutSeconds: 10, numRetries: 3, logLevel: 'silent' });
  return exportIndex(client, collections);
}

/** Every document of each collection through `client` (the local pipeline passes its own); a missing collection is empty. */
export async function exportIndex(client: Client, collections: readonly string[] = COLLECTION_SCHEMAS.map((s) => s.name)): Promise<Map<string, Map<string, unknown>>> {
  const index = new Map<string, Map<string, unknown>>();
  for (const name of collections) {
    const documents = new Map<string, unknown>();
    let jsonl = '';
    try {
      jsonl = await client.collections(name).documents().export();
    } catch (error) {
      // A collection that does not exist holds no documents: every projected one is then missing.
      if (!(error instanceof Errors.ObjectNotFound)) throw error;
    }
    for (const line of jsonl.split('\n')) {
      if (line.trim() === '') continue;
      const doc = JSON.parse(line) as { id: string };
      documents.set(doc.id, doc);
    }
    index.set(name, documents);
  }
  return index;
}
