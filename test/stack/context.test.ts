import { checkContextKeys, CONTEXT_KEYS, propsFromContext } from '../../lib/context';
import { requireEnv } from '../../lambda/shared/env';
import { CDK_JSON_CONTEXT } from './synth';

const from = (ctx: Record<string, unknown>) => propsFromContext(ctx);
const arn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/platform/stream/2026-01-01T00:00:00.000';
const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:typesense-admin-AbCdEf';
const key = 'arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab';
const indexer = { typesenseNodes: 'https://a.example', typesenseApiKeySecretArn: secret };

describe('CDK context', () => {
  it('defaults to a new table, the documented mapping settings and no indexer', () => {
    expect(from({})).toEqual({
      mapping: {},
      alarmTopicArn: undefined,
      logLevel: undefined,
      logRetention: undefined,
      iteratorAgeAlarmSeconds: undefined,
      failureRetentionDays: undefined,
      searchQueueAgeAlarmSeconds: undefined,
    });
  });

  it('reads an existing table and overrides (strings as -c passes them)', () => {
    expect(from({ tableName: 'platform', tableStreamArn: arn, retryAttempts: '3', batchSize: 50, logRetentionDays: '14', startingPosition: 'LATEST', logLevel: 'debug', failureRetentionDays: '30' })).toMatchObject({
      tableName: 'platform',
      tableStreamArn: arn,
      mapping: { retryAttempts: 3, batchSize: 50, startingPosition: 'LATEST' },
      logRetention: 14,
      logLevel: 'DEBUG',
      failureRetentionDays: 30,
    });
  });

  it('reads the indexer settings: comma-separated nodes and the key secret', () => {
    expect(from({ typesenseNodes: 'https://a.example:443, http://b.example:8108', typesenseApiKeySecretArn: secret }).indexer).toEqual({
      typesenseNodes: ['https://a.example:443', 'http://b.example:8108'],
      typesenseApiKeySecretArn: secret,
    });
  });

  it('reads the KMS key of the secret and the indexer concurrency', () => {
    expect(from({ typesenseNodes: 'https://a.example', typesenseApiKeySecretArn: secret, typesenseApiKeyKmsKeyArn: key, indexerMaxConcurrency: '4' }).indexer).toEqual({
      typesenseNodes: ['https://a.example'],
      typesenseApiKeySecretArn: secret,
      typesenseApiKeyKmsKeyArn: key,
      maxConcurrency: 4,
    });
  });

  it("accepts cdk.json's context and the CLI's own keys", () => {
    expect(() => checkContextKeys({ ...CDK_JSON_CONTEXT, 'aws:cdk:enable-path-metadata': true, 'availability-zones:account=1:region=x': [], 'acknowledged-issue-numbers': [1], stackName: 'S' })).not.toThrow();
  });

  // The exact one-line messages (README lists them).
  it.each([
    [{ batchSiz: 1 }, `unknown context key batchSiz; known keys: ${CONTEXT_KEYS.join(', ')}`],
    [{ batchSiz: 1, logLvl: 'x' }, /^unknown context keys batchSiz, logLvl; known keys: stackName, /],
    [{ tableName: 'only-name' }, 'tableName and tableStreamArn go together: give both to use an existing table, or neither to create one (with source=kinesis, tableName alone)'],
    [{ tableName: 't', tableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t' }, 'tableStreamArn is not a DynamoDB stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>): arn:aws:dynamodb:eu-west-1:123456789012:table/t'],
    [{ retryAttempts: 'many' }, 'retryAttempts must be an integer from 0 to 10000, got "many"'],
    [{ batchSize: 0 }, 'batchSize must be an integer from 1 to 10000, got 0'],
    [{ batchSize: '1.5' }, 'batchSize must be an integer from 1 to 10000, got "1.5"'],
    [{ logRetentionDays: 2 }, /^logRetentionDays must be one of CloudWatch's retention values/],
    [{ startingPosition: 'AT_TIMESTAMP' }, 'startingPosition must be one of TRIM_HORIZON, LATEST, got "AT_TIMESTAMP"'],
    [{ logLevel: 'VERBOSE' }, 'logLevel must be one of DEBUG, INFO, WARN, ERROR, SILENT, CRITICAL, got "VERBOSE"'],
    [{ failureRetentionDays: 0 }, 'failureRetentionDays must be an integer from 1 to 3650, got 0'],
    [{ typesenseNodes: 'https://a.example' }, 'typesenseNodes and typesenseApiKeySecretArn go together: give both to deploy the indexer, or neither'],
    [{ typesenseNodes: 'a.example:8108', typesenseApiKeySecretArn: secret }, 'typesenseNodes: "a.example:8108" is not an http(s) URL of the form https://host[:port]'],
    [{ typesenseNodes: 'https://a.example/path', typesenseApiKeySecretArn: secret }, 'typesenseNodes: "https://a.example/path" is not an http(s) URL of the form https://host[:port]'],
    [{ typesenseNodes: ' , ', typesenseApiKeySecretArn: secret }, 'typesenseNodes is empty: give one or more comma-separated http(s) URLs'],
    [{ typesenseNodes: 'https://a.example', typesenseApiKeySecretArn: 'typesense-admin' }, 'typesenseApiKeySecretArn is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>): typesense-admin'],
    // Partial: without the suffix IAM matches no secret (the deploy would succeed and every read be denied).
    [
      { ...indexer, typesenseApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/typesense' },
      "typesenseApiKeySecretArn must be the secret's complete ARN, ending in the 6 characters Secrets Manager appends to its name (…:secret:prod/typesense-AbCdEf), since IAM would match a partial one to no secret: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/typesense",
    ],
    [{ ...indexer, typesenseApiKeyKmsKeyArn: 'alias/typesense' }, 'typesenseApiKeyKmsKeyArn is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>; not an alias): alias/typesense'],
    [{ ...indexer, typesenseApiKeyKmsKeyArn: key.replace('eu-west-1', 'eu-central-1') }, 'typesenseApiKeyKmsKeyArn is in region eu-central-1 but the secret is in eu-west-1: Secrets Manager encrypts a secret with a key of its own region'],
    [{ typesenseApiKeyKmsKeyArn: key }, 'typesenseApiKeyKmsKeyArn configures the indexer: give typesenseNodes and typesenseApiKeySecretArn too'],
    [{ indexerMaxConcurrency: 4 }, 'indexerMaxConcurrency configures the indexer: give typesenseNodes and typesenseApiKeySecretArn too'],
    [{ ...indexer, indexerMaxConcurrency: 1 }, 'indexerMaxConcurrency must be an integer from 2 to 1000, got 1'],
    [{ ...indexer, indexerMaxConcurrency: '1001' }, 'indexerMaxConcurrency must be an integer from 2 to 1000, got "1001"'],
    [{ alarmTopicArn: 'oncall' }, 'alarmTopicArn is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>): oncall'],
    [{ stackName: '1-fanout' }, 'stackName must start with a letter and hold only letters, digits and hyphens (at most 128), got "1-fanout"'],
  ])('rejects %j', (ctx, message) => {
    let error: Error | undefined;
    try {
      from(ctx);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.name).toBe('ConfigError');
    if (typeof message === 'string') expect(error?.message).toBe(message);
    else expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
  });
});

describe('CDK context: the source and its keys', () => {
  const stream = 'arn:aws:kinesis:eu-west-1:123456789012:stream/platform-changes';

  it('reads -c source=kinesis and its keys (strings as -c passes them)', () => {
    expect(from({ source: 'kinesis' })).toMatchObject({ source: 'kinesis' });
    expect(from({ source: 'kinesis' }).kinesis).toBeUndefined();
    expect(from({ source: 'kinesis', kinesisShardCount: '4', kinesisRetentionHours: '168' })).toMatchObject({ source: 'kinesis', kinesis: { shardCount: 4, retentionHours: 168 } });
    expect(from({ source: 'kinesis', kinesisStreamArn: stream }).kinesis).toEqual({ streamArn: stream });
    expect(from({ source: 'dynamodb-streams' })).toMatchObject({ source: 'dynamodb-streams' });
    expect(from({}).source).toBeUndefined();
  });

  it('with source=kinesis an existing table is named alone (its DynamoDB stream is not read)', () => {
    expect(from({ source: 'kinesis', tableName: 'platform' })).toMatchObject({ source: 'kinesis', tableName: 'platform' });
    expect(from({ source: 'kinesis', tableName: 'platform' }).tableStreamArn).toBeUndefined();
    expect(from({ source: 'kinesis', tableName: 'platform', tableStreamArn: arn })).toMatchObject({ tableName: 'platform', tableStreamArn: arn });
  });

  it('reads parallelizationFactor into the mapping settings and freshnessAlarmSeconds', () => {
    expect(from({ parallelizationFactor: '4', freshnessAlarmSeconds: '60' })).toMatchObject({ mapping: { parallelizationFactor: 4 }, freshnessAlarmSeconds: 60 });
    expect(from({}).freshnessAlarmSeconds).toBeUndefined();
  });

  it.each([
    [{ source: 'kinesis-data-streams' }, 'source must be one of dynamodb-streams, kinesis, got "kinesis-data-streams"'],
    [{ source: 'Kinesis' }, 'source must be one of dynamodb-streams, kinesis, got "Kinesis"'],
    [{ kinesisShardCount: 2 }, /^kinesisShardCount configures? the Kinesis source: give source=kinesis too$/],
    [{ source: 'dynamodb-streams', kinesisStreamArn: stream, kinesisRetentionHours: 48 }, 'kinesisStreamArn, kinesisRetentionHours configure the Kinesis source: give source=kinesis too'],
    [{ source: 'kinesis', kinesisShardCount: 0 }, 'kinesisShardCount must be an integer from 1 to 10000, got 0'],
    [{ source: 'kinesis', kinesisRetentionHours: '12' }, 'kinesisRetentionHours must be an integer from 24 to 8760, got "12"'],
    [{ source: 'kinesis', kinesisRetentionHours: 8761 }, 'kinesisRetentionHours must be an integer from 24 to 8760, got 8761'],
    [{ source: 'kinesis', tableStreamArn: arn }, 'tableName and tableStreamArn go together: give both to use an existing table, or neither to create one (with source=kinesis, tableName alone)'],
    [{ parallelizationFactor: '11' }, 'parallelizationFactor must be an integer from 1 to 10, got "11"'],
    [{ parallelizationFactor: 0 }, 'parallelizationFactor must be an integer from 1 to 10, got 0'],
    [{ freshnessAlarmSeconds: 0 }, 'freshnessAlarmSeconds must be an integer from 1 to 86400, got 0'],
  ])('rejects %j', (ctx, message) => {
    let error: Error | undefined;
    try {
      from(ctx);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.name).toBe('ConfigError');
    if (typeof message === 'string') expect(error?.message).toBe(message);
    else expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
  });
});

describe('requireEnv', () => {
  it('returns a set variable and names a missing or blank one', () => {
    expect(requireEnv('X', { X: 'v' })).toBe('v');
    expect(() => requireEnv('TYPESENSE_QUEUE_URL', {})).toThrow('Missing required environment variable TYPESENSE_QUEUE_URL');
    expect(() => requireEnv('TABLE_NAME', { TABLE_NAME: ' ' })).toThrow(/TABLE_NAME/);
  });
});
