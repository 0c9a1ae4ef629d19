import * as logs from 'aws-cdk-lib/aws-logs';
import { checkIntRange, checkLogLevel, checkSecretArn, checkSecretKmsKeyArn, checkStackName, checkTopicArn, ConfigError, parseStreamArn, parseTypesenseNodes, STARTING_POSITIONS } from './config';
import { INDEXER_MAX_CONCURRENCY_RANGE } from './indexer';
import type { StreamMappingSettings } from './mapping-settings';
import { SOURCE_KINDS, type SourceKind } from './sources/change-source';
import type { StreamFanoutStackProps } from './stream-fanout-stack';

/** Context keys the app reads (README, "Context keys"). */
export const CONTEXT_KEYS = [
  'stackName',
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
  'failureRetentionDays',
  'typesenseNodes',
  'typesenseApiKeySecretArn',
  'typesenseApiKeyKmsKeyArn',
  'indexerMaxConcurrency',
  'searchQueueAgeAlarmSeconds',
  'source',
  'kinesisStreamArn',
  'kinesisShardCount',
  'kinesisRetentionHours',
  'parallelizationFactor',
  'freshnessAlarmSeconds',
  'domainEvents',
  'auditTrail',
] as const;

type ContextKey = (typeof CONTEXT_KEYS)[number];

/** Keys the CDK CLI itself may put in the context without a `:` (cdk.context.json). */
const CLI_KEYS = new Set(['acknowledged-issue-numbers']);

/**
 * Unknown keys are errors (a typo such as `batchSiz` would otherwise be ignored silently).
 * CDK's own keys are not ours to check: feature flags (`@aws-cdk/...:...`), `aws:cdk:*` and
 * cached lookups (`availability-zones:account=...`) all contain a `:`.
 */
export function checkContextKeys(context: Record<string, unknown>): void {
  const known = new Set<string>(CONTEXT_KEYS);
  const unknown = Object.keys(context).filter((key) => !key.includes(':') && !CLI_KEYS.has(key) && !known.has(key));
  if (unknown.length > 0) {
    throw new ConfigError(`unknown context key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known keys: ${CONTEXT_KEYS.join(', ')}`);
  }
}

/** Builds stack props from CDK context (`-c key=value` or cdk.json), checking every key and value. */
export function propsFromContext(context: Record<string, unknown>): StreamFanoutStackProps {
  checkContextKeys(context);
  const str = (key: ContextKey) => {
    const v = context[key];
    return v === undefined || v === '' ? undefined : String(v);
  };
  const int = (key: ContextKey, min: number, max: number) => {
    const v = str(key);
    return v === undefined ? undefined : checkIntRange(key, context[key], min, max);
  };

  const bool = (key: ContextKey) => {
    const v = str(key);
    if (v === undefined || v === 'false') return undefined;
    if (v === 'true') return true;
    throw new ConfigError(`${key} must be true or false, got ${JSON.stringify(v)}`);
  };

  const source = str('source');
  if (source !== undefined && !(SOURCE_KINDS as readonly string[]).includes(source)) {
    throw new ConfigError(`source must be one of ${SOURCE_KINDS.join(', ')}, got ${JSON.stringify(source)}`);
  }
  const kinesis = {
    streamArn: str('kinesisStreamArn'),
    shardCount: int('kinesisShardCount', 1, 10_000),
    retentionHours: int('kinesisRetentionHours', 24, 8760),
  };
  const kinesisGiven = Object.entries(kinesis).filter(([, v]) => v !== undefined);
  if (source !== 'kinesis' && kinesisGiven.length > 0) {
    throw new ConfigError(`${kinesisGiven.map(([k]) => `kinesis${k[0]!.toUpperCase()}${k.slice(1)}`).join(', ')} configure${kinesisGiven.length > 1 ? '' : 's'} the Kinesis source: give source=kinesis too`);
  }

  const tableName = str('tableName');
  const tableStreamArn = str('tableStreamArn');
  // The Kinesis source reads no DynamoDB stream: an existing table is named alone.
  if (source === 'kinesis' ? tableName === undefined && tableStreamArn !== undefined : (tableName === undefined) !== (tableStreamArn === undefined)) {
    throw new ConfigError('tableName and tableStreamArn go together: give both to use an existing table, or neither to create one (with source=kinesis, tableName alone)');
  }
  if (tableStreamArn !== undefined) parseStreamArn(tableStreamArn);

  const startingPosition = str('startingPosition');
  if (startingPosition !== undefined && !(STARTING_POSITIONS as readonly string[]).includes(startingPosition)) {
    throw new ConfigError(`startingPosition must be one of ${STARTING_POSITIONS.join(', ')}, got ${JSON.stringify(startingPosition)}`);
  }
  const mapping: Partial<StreamMappingSettings> = {
    startingPosition: startingPosition as StreamMappingSettings['startingPosition'] | undefined,
    batchSize: int('batchSize', 1, 10_000),
    maxBatchingWindowSeconds: int('maxBatchingWindowSeconds', 0, 300),
    retryAttempts: int('retryAttempts', 0, 10_000),
    maxRecordAgeSeconds: int('maxRecordAgeSeconds', 60, 604_800),
    parallelizationFactor: int('parallelizationFactor', 1, 10),
  };
  const retentionDays = int('logRetentionDays', 1, 3653);
  if (retentionDays !== undefined && !Object.values(logs.RetentionDays).includes(retentionDays)) {
    throw new ConfigError(`logRetentionDays must be one of CloudWatch's retention values (1, 3, 5, 7, 14, 30, 60, 90, ...), got ${retentionDays}`);
  }
  const logLevel = str('logLevel');
  const alarmTopicArn = str('alarmTopicArn');
  if (alarmTopicArn !== undefined) checkTopicArn(alarmTopicArn);
  const stackName = str('stackName');
  if (stackName !== undefined) checkStackName(stackName);

  const nodes = str('typesenseNodes');
  const secretArn = str('typesenseApiKeySecretArn');
  if ((nodes === undefined) !== (secretArn === undefined)) {
    throw new ConfigError('typesenseNodes and typesenseApiKeySecretArn go together: give both to deploy the indexer, or neither');
  }
  const kmsKeyArn = str('typesenseApiKeyKmsKeyArn');
  const maxConcurrency = int('indexerMaxConcurrency', ...INDEXER_MAX_CONCURRENCY_RANGE);
  for (const [key, value] of [['typesenseApiKeyKmsKeyArn', kmsKeyArn], ['indexerMaxConcurrency', maxConcurrency]] as const) {
    if (value !== undefined && secretArn === undefined) throw new ConfigError(`${key} configures the indexer: give typesenseNodes and typesenseApiKeySecretArn too`);
  }
  if (secretArn !== undefined) {
    const secretRegion = checkSecretArn(secretArn);
    if (kmsKeyArn !== undefined) checkSecretKmsKeyArn(kmsKeyArn, secretRegion);
  }

  return {
    ...(tableName && { tableName }),
    ...(tableStreamArn && { tableStreamArn }),
    ...(source !== undefined && { source: source as SourceKind }),
    ...(kinesisGiven.length > 0 && { kinesis: Object.fromEntries(kinesisGiven) }),
    freshnessAlarmSeconds: int('freshnessAlarmSeconds', 1, 86_400),
    ...(bool('domainEvents') && { domainEvents: true }),
    ...(bool('auditTrail') && { auditTrail: true }),
    mapping: Object.fromEntries(Object.entries(mapping).filter(([, v]) => v !== undefined)),
    alarmTopicArn,
    logLevel: logLevel === undefined ? undefined : checkLogLevel(logLevel),
    logRetention: retentionDays as logs.RetentionDays | undefined,
    iteratorAgeAlarmSeconds: int('iteratorAgeAlarmSeconds', 1, 604_800),
    failureRetentionDays: int('failureRetentionDays', 1, 3650),
    searchQueueAgeAlarmSeconds: int('searchQueueAgeAlarmSeconds', 1, 1_209_600),
    ...(nodes &&
      secretArn && {
        indexer: {
          typesenseNodes: parseTypesenseNodes(nodes),
          typesenseApiKeySecretArn: secretArn,
          ...(kmsKeyArn !== undefined && { typesenseApiKeyKmsKeyArn: kmsKeyArn }),
          ...(maxConcurrency !== undefined && { maxConcurrency }),
        },
      }),
  };
}
