/**
 * The function's settings, from its environment (the construct sets them; lib/audit-trail.ts
 * names the same variables). Read at init: a bad value fails the function at once, named.
 */
import { requireEnv } from '../shared/env';
import { parseRowKinds, type RowKindName } from '../shared/row-kinds';
import { CHANGE_SOURCES, DEFAULT_RETENTION_DAYS, type ChangeSource } from './history-table';
import { SENSITIVE_MODES, type SensitiveMode } from './sensitive';

export const AUDIT_ENV = {
  historyTable: 'HISTORY_TABLE_NAME',
  sensitive: 'AUDIT_SENSITIVE',
  kmsKeyId: 'AUDIT_KMS_KEY_ID',
  hashSecretArn: 'AUDIT_HASH_SECRET_ARN',
  rowKinds: 'AUDIT_ROW_KINDS',
  retentionDays: 'AUDIT_RETENTION_DAYS',
  source: 'CHANGE_SOURCE',
} as const;

export interface AuditConfig {
  readonly historyTableName: string;
  readonly sensitive: { readonly mode: 'encrypt'; readonly kmsKeyId: string } | { readonly mode: 'hash'; readonly secretArn: string };
  readonly rowKinds: RowKindName[];
  readonly retentionDays: number;
  readonly source: ChangeSource;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

export function auditConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AuditConfig {
  const mode: SensitiveMode = oneOf(AUDIT_ENV.sensitive, env[AUDIT_ENV.sensitive], SENSITIVE_MODES, 'encrypt');
  const days = env[AUDIT_ENV.retentionDays];
  const retentionDays = days === undefined || days === '' ? DEFAULT_RETENTION_DAYS : Number(days);
  if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new Error(`${AUDIT_ENV.retentionDays} must be a positive whole number of days, got ${JSON.stringify(days)}`);
  return {
    historyTableName: requireEnv(AUDIT_ENV.historyTable, env),
    sensitive: mode === 'encrypt' ? { mode, kmsKeyId: requireEnv(AUDIT_ENV.kmsKeyId, env) } : { mode, secretArn: requireEnv(AUDIT_ENV.hashSecretArn, env) },
    rowKinds: parseRowKinds(env[AUDIT_ENV.rowKinds]),
    retentionDays,
    source: oneOf(AUDIT_ENV.source, env[AUDIT_ENV.source], CHANGE_SOURCES, 'dynamodb-streams'),
  };
}
