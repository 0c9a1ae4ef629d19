import * as logs from 'aws-cdk-lib/aws-logs';
import type { StreamMappingSettings } from './mapping-settings';
import type { StreamFanoutStackProps } from './stream-fanout-stack';

/** Context keys the app reads (README, "Context keys"). */
export const CONTEXT_KEYS = [
  'tableName',
  'tableStreamArn',
  'alarmTopicArn',
  'logLevel',
  'logRetentionDays',
  'iteratorAgeAlarmSeconds',
  'batchSize',
  'maxBatchingWindowSeconds',
  'retryAttempts',
  'maxRecordAgeSeconds',
  'startingPosition',
] as const;

type ContextKey = (typeof CONTEXT_KEYS)[number];

/** Builds stack props from CDK context (`-c key=value` or cdk.json), checking every value. */
export function propsFromContext(get: (key: ContextKey) => unknown): StreamFanoutStackProps {
  const str = (key: ContextKey) => {
    const v = get(key);
    return v === undefined || v === '' ? undefined : String(v);
  };
  const int = (key: ContextKey, min: number, max: number) => {
    const v = str(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`context ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return n;
  };

  const tableName = str('tableName');
  const tableStreamArn = str('tableStreamArn');
  if ((tableName === undefined) !== (tableStreamArn === undefined)) {
    throw new Error('context tableName and tableStreamArn go together: give both to use an existing table, or neither to create one');
  }
  if (tableStreamArn !== undefined && !/^arn:aws[\w-]*:dynamodb:[\w-]+:\d{12}:table\/[^/]+\/stream\/.+$/.test(tableStreamArn)) {
    throw new Error(`context tableStreamArn is not a DynamoDB stream ARN: ${tableStreamArn}`);
  }

  const startingPosition = str('startingPosition');
  if (startingPosition !== undefined && startingPosition !== 'TRIM_HORIZON' && startingPosition !== 'LATEST') {
    throw new Error(`context startingPosition must be TRIM_HORIZON or LATEST, got ${JSON.stringify(startingPosition)}`);
  }
  const mapping: Partial<StreamMappingSettings> = {
    startingPosition,
    batchSize: int('batchSize', 1, 10_000),
    maxBatchingWindowSeconds: int('maxBatchingWindowSeconds', 0, 300),
    retryAttempts: int('retryAttempts', 0, 10_000),
    maxRecordAgeSeconds: int('maxRecordAgeSeconds', 60, 604_800),
  };
  const retentionDays = int('logRetentionDays', 1, 3653);
  if (retentionDays !== undefined && !Object.values(logs.RetentionDays).includes(retentionDays)) {
    throw new Error(`context logRetentionDays must be one of CloudWatch's retention values, got ${retentionDays}`);
  }

  return {
    existingTable: tableName && tableStreamArn ? { tableName, tableStreamArn } : undefined,
    mapping: Object.fromEntries(Object.entries(mapping).filter(([, v]) => v !== undefined)),
    alarmTopicArn: str('alarmTopicArn'),
    logLevel: str('logLevel'),
    logRetention: retentionDays as logs.RetentionDays | undefined,
    iteratorAgeAlarmSeconds: int('iteratorAgeAlarmSeconds', 1, 604_800),
  };
}
