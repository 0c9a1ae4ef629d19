import { GetSecretValueCommand, type GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';

export interface SecretReader {
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
}

/**
 * The Typesense API key: the secret's SecretString is the key itself (DESIGN §11). Read on
 * first use and cached for the container's life; a failed read is not cached, so the next
 * invocation tries again. The key is never logged.
 */
export function cachedSecret(client: SecretReader, secretArn: string): () => Promise<string> {
  let value: Promise<string> | undefined;
  return () => {
    value ??= client.send(new GetSecretValueCommand({ SecretId: secretArn })).then(
      (out) => {
        const key = out.SecretString?.trim();
        if (!key) throw new Error(`secret ${secretArn} has no SecretString (it must hold the Typesense API key itself)`);
        return key;
      },
      (error: unknown) => {
        value = undefined;
        throw error;
      },
    );
    return value;
  };
}
