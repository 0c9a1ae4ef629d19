import type { Client } from 'typesense';

/** Where the search port gets its Typesense client, and a new one after the key was refused. */
export interface SearchClientSource {
  /** The client for the key in hand (the key is read, or read again past its max age, here). */
  current(): Promise<Client>;
  /**
   * After `refused` got a 401/403: the key read again from its secret and a client for it,
   * or undefined when the key is the one `refused` already had (retrying would be refused too).
   */
  renew(refused: Client): Promise<Client | undefined>;
}

/** A client with a fixed key (tests, the local pipeline, the bench): nothing to renew. */
export const fixedClient = (client: Client): SearchClientSource => ({
  current: async () => client,
  renew: async () => undefined,
});

export interface KeySource {
  get(): Promise<string>;
  refresh(): Promise<string>;
}

/**
 * Clients built from the key `keys` holds (lambda/typesense-indexer/secret.ts): a new client
 * whenever the key changed (its max age passed and the secret held a new one, or a refusal
 * forced a re-read), the same client otherwise.
 */
export function keyedClients(keys: KeySource, build: (apiKey: string) => Client): SearchClientSource {
  let held: { key: string; client: Client } | undefined;
  const clientFor = (key: string): Client => {
    if (held?.key !== key) held = { key, client: build(key) };
    return held.client;
  };
  return {
    current: async () => clientFor(await keys.get()),
    async renew(refused) {
      // Another call may have renewed it already: use that client without reading again.
      if (held && held.client !== refused) return held.client;
      const client = clientFor(await keys.refresh());
      return client === refused ? undefined : client;
    },
  };
}

export const isClientSource = (value: Client | SearchClientSource): value is SearchClientSource =>
  typeof (value as Partial<SearchClientSource>).renew === 'function' && typeof (value as Partial<SearchClientSource>).current === 'function';
