import { GetSecretValueCommand, type GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { classified } from '../shared/metrics';
import { safeError, type SafeError } from '../shared/safe-error';

export interface SecretReader {
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
}

/** How long a read key is used before the secret is read again (TYPESENSE_API_KEY_MAX_AGE_SECONDS). */
export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;
/** A forced re-read (after a 401/403) is skipped when the key in hand is younger than this. */
export const MIN_FORCED_REFRESH_MS = 10_000;

/** The max age from the environment: a whole number of seconds, 0 meaning "read on every use". */
export function secretMaxAgeMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TYPESENSE_API_KEY_MAX_AGE_SECONDS;
  if (raw === undefined || raw.trim() === '') return DEFAULT_SECRET_MAX_AGE_SECONDS * 1000;
  if (!/^\d+$/.test(raw.trim())) throw new Error(`TYPESENSE_API_KEY_MAX_AGE_SECONDS must be a whole number of seconds, got ${JSON.stringify(raw.slice(0, 40))}`);
  return Number(raw.trim()) * 1000;
}

/** The secret could not be read or holds no key. Names the secret, never its value. */
export class SecretUnreadableError extends Error {
  constructor(
    readonly secretArn: string,
    reason: string,
    cause?: SafeError,
  ) {
    super(`the Typesense API key secret ${secretArn} could not be used: ${reason}`, cause ? { cause } : undefined);
    this.name = 'SecretUnreadableError';
  }
}

export interface SecretOptions {
  readonly maxAgeMs?: number;
  readonly minForcedRefreshMs?: number;
  /** Injected so tests control the age. */
  readonly now?: () => number;
}

/**
 * The Typesense API key: the secret's SecretString is the key itself. Read on
 * first use and kept for `maxAgeMs`, so a rotated key reaches warm containers within that
 * time; `refresh()` re-reads it at once (the search port calls it after a 401/403). A failed
 * read is not kept: the next use tries again. Concurrent uses share one read. The key is
 * never logged, and no error carries it.
 */
export class CachedSecret {
  private held?: { key: string; readAt: number };
  private reading?: Promise<string>;
  private readonly maxAgeMs: number;
  private readonly minForcedRefreshMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: SecretReader,
    readonly secretArn: string,
    options: SecretOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_SECRET_MAX_AGE_SECONDS * 1000;
    this.minForcedRefreshMs = options.minForcedRefreshMs ?? MIN_FORCED_REFRESH_MS;
    this.now = options.now ?? Date.now;
  }

  /** The key, read again when the one in hand is older than the max age. */
  get(): Promise<string> {
    if (this.held && this.now() - this.held.readAt < this.maxAgeMs) return Promise.resolve(this.held.key);
    return this.read();
  }

  /** The key read again now, unless the one in hand was read less than `minForcedRefreshMs` ago. */
  refresh(): Promise<string> {
    if (this.held && this.now() - this.held.readAt < this.minForcedRefreshMs) return Promise.resolve(this.held.key);
    return this.read();
  }

  private read(): Promise<string> {
    this.reading ??= this.client
      .send(new GetSecretValueCommand({ SecretId: this.secretArn }))
      .then(
        (out) => {
          const key = out.SecretString?.trim();
          if (!key) throw classified(new SecretUnreadableError(this.secretArn, 'it has no SecretString (it must hold the Typesense API key itself)'), 'fatal');
          this.held = { key, readAt: this.now() };
          return key;
        },
        (error: unknown) => {
          const cause = safeError(error);
          throw classified(new SecretUnreadableError(this.secretArn, `GetSecretValue failed: ${cause.name}: ${cause.message}`, cause), cause.retryable ? 'throttled' : 'fatal');
        },
      )
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
