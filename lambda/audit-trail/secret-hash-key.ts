/**
 * Hash mode's key from Secrets Manager: the secret's string (the construct generates 64 random
 * characters), read once per container. The function holds GetSecretValue on that secret only.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { HashKeySource } from './sensitive';

/** Shorter secrets are refused: a guessable key would make the digests guessable. */
export const MIN_HASH_KEY_CHARS = 32;

export function secretHashKey(client: Pick<SecretsManagerClient, 'send'>, secretId: string): HashKeySource {
  return {
    hashKey: async () => {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      const text = out.SecretString;
      if (typeof text !== 'string' || text.length < MIN_HASH_KEY_CHARS) {
        throw new Error(`secret ${secretId} must hold a string of at least ${MIN_HASH_KEY_CHARS} characters (the audit trail's hash key)`);
      }
      return new Uint8Array(Buffer.from(text, 'utf8'));
    },
  };
}
