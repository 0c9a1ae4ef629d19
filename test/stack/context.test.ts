import { propsFromContext } from '../../lib/context';
import { requireEnv } from '../../lambda/shared/env';

const from = (ctx: Record<string, unknown>) => propsFromContext((key) => ctx[key]);

describe('CDK context', () => {
  it('defaults to a new table and the documented mapping settings', () => {
    expect(from({})).toEqual({ existingTable: undefined, mapping: {}, alarmTopicArn: undefined, logLevel: undefined, logRetention: undefined, iteratorAgeAlarmSeconds: undefined });
  });

  it('reads an existing table and overrides (strings as -c passes them)', () => {
    const arn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/platform/stream/2026-01-01T00:00:00.000';
    expect(from({ tableName: 'platform', tableStreamArn: arn, retryAttempts: '3', batchSize: 50, logRetentionDays: '14', startingPosition: 'LATEST' })).toMatchObject({
      existingTable: { tableName: 'platform', tableStreamArn: arn },
      mapping: { retryAttempts: 3, batchSize: 50, startingPosition: 'LATEST' },
      logRetention: 14,
    });
  });

  it.each([
    [{ tableName: 'only-name' }, /tableName and tableStreamArn go together/],
    [{ tableName: 't', tableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t' }, /not a DynamoDB stream ARN/],
    [{ retryAttempts: 'many' }, /retryAttempts must be an integer from 0/],
    [{ batchSize: 0 }, /batchSize must be an integer from 1/],
    [{ logRetentionDays: 2 }, /logRetentionDays must be one of/],
    [{ startingPosition: 'AT_TIMESTAMP' }, /startingPosition must be TRIM_HORIZON or LATEST/],
  ])('rejects %j', (ctx, message) => {
    expect(() => from(ctx)).toThrow(message);
  });
});

describe('requireEnv', () => {
  it('returns a set variable and names a missing or blank one', () => {
    expect(requireEnv('X', { X: 'v' })).toBe('v');
    expect(() => requireEnv('TYPESENSE_QUEUE_URL', {})).toThrow('Missing required environment variable TYPESENSE_QUEUE_URL');
    expect(() => requireEnv('TABLE_NAME', { TABLE_NAME: ' ' })).toThrow(/TABLE_NAME/);
  });
});
