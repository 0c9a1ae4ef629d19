import { Match, type Template } from 'aws-cdk-lib/assertions';
import { SUBSYSTEM_NAMES, type SubsystemName } from '../../lambda/subsystems';
import { synthStack } from './synth';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

/** Joins resources through the template's own references, never through hashed logical IDs. */
function functionOf(template: Template, name: SubsystemName): { id: string; props: Record<string, any> } {
  const found = Object.entries(template.findResources('AWS::Lambda::Function', {
    Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: name } } },
  }) as Record<string, Resource>);
  expect(found).toHaveLength(1);
  const [id, resource] = found[0]!;
  return { id, props: resource.Properties };
}

function mappingOf(template: Template, name: SubsystemName): Record<string, any> {
  const { id } = functionOf(template, name);
  const found = Object.values(template.findResources('AWS::Lambda::EventSourceMapping', {
    Properties: { FunctionName: { Ref: id } },
  }) as Record<string, Resource>);
  expect(found).toHaveLength(1);
  return found[0]!.Properties;
}

function statementsOf(template: Template, name: SubsystemName): Array<Record<string, any>> {
  const roleRef = functionOf(template, name).props.Role['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: roleRef }] },
  }) as Record<string, Resource>);
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const actionsOf = (statements: Array<Record<string, any>>): string[] =>
  statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

const keysFilter = (PK: unknown, SK: unknown) => ({ dynamodb: { Keys: { PK: { S: [PK] }, SK: { S: [SK] } } } });

/** Written from DESIGN.md §1/§3 by hand, not from the code under test. */
const EXPECTED_FILTERS: Record<SubsystemName, unknown[]> = {
  'typesense-sync': [
    keysFilter('AIRCRAFT#REGISTRY#FAA', { prefix: 'DETAIL#' }),
    keysFilter('AIRCRAFT#REGISTRY#FOREIGN', { prefix: 'DETAIL#' }),
    keysFilter({ prefix: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#' }, { prefix: 'IMG#' }),
    keysFilter('ICAO#AIRCRAFT', { prefix: 'TYPE#' }),
    keysFilter('ICAO#MANUFACTURERS', { prefix: 'MFR#' }),
  ],
  'image-sync': [keysFilter({ prefix: 'IMAGES#' }, { prefix: 'IMG#' })],
  'faa-matcher-sync': [keysFilter('FAA#LINKS', { prefix: 'MFR_MDL_CODE#' })],
};

describe('StreamFanoutStack (new table)', () => {
  const { template } = synthStack();

  it('creates the table: PK/SK strings, on-demand, NEW_AND_OLD_IMAGES stream, PITR, TTL, retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'PK', AttributeType: 'S' },
          { AttributeName: 'SK', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        // faa-matcher-sync's expiring ledger markers.
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      },
    });
  });

  it('has exactly three stream mappings', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
  });

  it.each(SUBSYSTEM_NAMES)('%s: mapping with its key filters, partial batch responses, bisect, bounded retries and age', (name) => {
    const mapping = mappingOf(template, name);
    expect(mapping.FilterCriteria.Filters.map((f: { Pattern: string }) => JSON.parse(f.Pattern))).toEqual(EXPECTED_FILTERS[name]);
    expect(mapping).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 21_600,
      BatchSize: 100,
      EventSourceArn: { 'Fn::GetAtt': [expect.anything(), 'StreamArn'] },
    });
  });

  it("sends every mapping's failures to one S3 bucket: encrypted, SSL only, private, expiring, retained", () => {
    const destinations = SUBSYSTEM_NAMES.map((name) => mappingOf(template, name).DestinationConfig.OnFailure.Destination['Fn::GetAtt']);
    expect(new Set(destinations.map(([id]: string[]) => id)).size).toBe(1);
    expect(destinations[0]![1]).toBe('Arn');
    const [bucketId, bucket] = Object.entries(template.findResources('AWS::S3::Bucket') as Record<string, Resource>)[0]!;
    expect(destinations[0]![0]).toBe(bucketId);
    template.resourceCountIs('AWS::S3::Bucket', 1);
    expect(bucket).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 90, Prefix: 'aws/lambda/', Status: 'Enabled' })] },
      MetricsConfigurations: [{ Id: 'FailureObjects', Prefix: 'aws/lambda/' }],
    });
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it.each(SUBSYSTEM_NAMES)('%s may write failure objects (PutObject under aws/lambda/, ListBucket) and nothing else in S3', (name) => {
    const s3 = statementsOf(template, name).filter((s) => actionsOf([s]).some((a) => a.startsWith('s3:')));
    expect(s3.map((s) => [actionsOf([s]), JSON.stringify(s.Resource)]).sort()).toEqual([
      [['s3:ListBucket'], expect.stringMatching(/^\{"Fn::GetAtt":\["StreamFailuresBucket\w+","Arn"\]\}$/)],
      [['s3:PutObject'], expect.stringMatching(/aws\/lambda\/\*/)],
    ]);
  });

  it('alarms on new failure objects through the bucket\'s request metrics on the failure prefix', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/S3',
      MetricName: 'PutRequests',
      Dimensions: Match.arrayWith([{ Name: 'FilterId', Value: 'FailureObjects' }]),
      Threshold: 1,
    });
  });

  it('has the FIFO search-actions queue (1 MiB messages) with its own FIFO DLQ through a redrive policy', () => {
    template.resourceCountIs('AWS::SQS::Queue', 2);
    const queues = template.findResources('AWS::SQS::Queue') as Record<string, Resource>;
    const [, main] = Object.entries(queues).find(([, q]) => q.Properties.RedrivePolicy)!;
    expect(main.Properties).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: false, SqsManagedSseEnabled: true, MaximumMessageSize: 1_048_576, VisibilityTimeout: 180 });
    const dlqId = main.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
    expect(queues[dlqId]?.Properties).toMatchObject({ FifoQueue: true, SqsManagedSseEnabled: true });
    expect(main.Properties.RedrivePolicy.maxReceiveCount).toBeGreaterThan(0);
  });

  it('enforces SSL on every queue', () => {
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy') as Record<string, Resource>);
    const covered = policies
      .filter((p) =>
        p.Properties.PolicyDocument.Statement.some(
          (s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
        ),
      )
      .flatMap((p) => p.Properties.Queues.map((q: any) => q.Ref));
    expect(new Set(covered).size).toBe(2);
  });

  it.each(SUBSYSTEM_NAMES)('%s: Node.js 22 on arm64, metrics namespace, its own log group with retention', (name) => {
    const { props } = functionOf(template, name);
    expect(props).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: { Variables: { LOG_LEVEL: 'INFO', POWERTOOLS_SERVICE_NAME: name, POWERTOOLS_METRICS_NAMESPACE: 'StreamFanout' } },
      LoggingConfig: { LogGroup: { Ref: expect.anything() } },
    });
    const logGroupId = props.LoggingConfig.LogGroup.Ref;
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 } });
    expect(template.findResources('AWS::Logs::LogGroup')[logGroupId]).toBeDefined();
  });

  it('passes each function the configuration it reads at init', () => {
    expect(functionOf(template, 'typesense-sync').props.Environment.Variables.TYPESENSE_QUEUE_URL).toEqual({ Ref: expect.anything() });
    expect(functionOf(template, 'image-sync').props.Environment.Variables.TABLE_NAME).toEqual({ Ref: expect.anything() });
    expect(functionOf(template, 'faa-matcher-sync').props.Environment.Variables.TABLE_NAME).toEqual({ Ref: expect.anything() });
  });

  it('grants no wildcard action to any function', () => {
    for (const name of SUBSYSTEM_NAMES) {
      for (const action of actionsOf(statementsOf(template, name))) expect(action).not.toContain('*');
    }
  });

  it('typesense-sync may only send to its queue (sqs:SendMessage, nothing else in SQS) and has no DynamoDB table access beyond reading the stream', () => {
    const statements = statementsOf(template, 'typesense-sync');
    const dynamoActions = actionsOf(statements).filter((a) => a.startsWith('dynamodb:'));
    expect(dynamoActions.sort()).toEqual(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams']);
    const sqs = statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('sqs:')));
    const [queueId] = Object.entries(template.findResources('AWS::SQS::Queue') as Record<string, Resource>).find(([, q]) => q.Properties.RedrivePolicy)!;
    expect(sqs).toEqual([{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } }]);
  });

  it.each([
    ['image-sync', ['IMAGES#*']],
    ['faa-matcher-sync', ['FAA#LINKS', 'ICAO#MATCHER#*', 'MATCHER#CONTRIB#*']],
  ] as const)('%s: table actions restricted to its leading keys', (name, leadingKeys) => {
    const statements = statementsOf(template, name);
    const writes = statements.filter((s) => actionsOf([s]).some((a) => /^dynamodb:(Put|Update|Delete)Item$/.test(a)));
    expect(writes.length).toBeGreaterThan(0);
    for (const s of writes) {
      expect(s.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': leadingKeys } });
      expect(s.Resource).toEqual({ 'Fn::GetAtt': [expect.anything(), 'Arn'] });
    }
    // Table reads and writes only ever come with the leading-key condition.
    for (const s of statements.filter((s) => actionsOf([s]).some((a) => /^dynamodb:((Batch)?Get|Put|Update|Delete|ConditionCheck)Item|Query$/.test(a)))) {
      expect(s.Condition).toBeDefined();
    }
  });

  it('alarms on iterator age, errors, destination delivery failures and freshness per function, failure objects and the search DLQ', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3 * 4 + 2);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).map((a) => a.Properties);
    const byMetric = (metric: string) => alarms.filter((a) => a.MetricName === metric);
    expect(byMetric('IteratorAge')).toHaveLength(3);
    expect(byMetric('IteratorAge').every((a) => a.Threshold === 300_000 && a.Statistic === 'Maximum')).toBe(true);
    expect(byMetric('Errors')).toHaveLength(3);
    // Each stream function's own: a batch Lambda could not write to the failure bucket is otherwise lost silently.
    const delivery = byMetric('DestinationDeliveryFailures');
    expect(delivery.map((a) => a.Dimensions).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      SUBSYSTEM_NAMES.map((name) => [{ Name: 'FunctionName', Value: { Ref: functionOf(template, name).id } }]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    for (const a of delivery) expect(a).toMatchObject({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toHaveLength(1);
    expect(byMetric('PutRequests')).toHaveLength(1);
    expect(byMetric('ApproximateAgeOfOldestMessage')).toHaveLength(0);
    expect(alarms.every((a) => a.AlarmActions === undefined)).toBe(true);
  });

  it('outputs the queue URLs, the failure bucket and the function names', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'SearchActionsQueueUrl',
        'SearchActionsDlqUrl',
        'TypesenseSyncFunctionName',
        'ImageSyncFunctionName',
        'FaaMatcherSyncFunctionName',
        'StreamFailureBucketName',
      ]),
    );
  });
});

describe('StreamFanoutStack (existing table and overrides)', () => {
  const streamArn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/platform/stream/2026-01-01T00:00:00.000';
  const { template } = synthStack({
    tableName: 'platform',
    tableStreamArn: streamArn,
    mapping: { retryAttempts: 3, maxRecordAgeSeconds: 3600 },
    alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:oncall',
  });

  it('creates no table and reads the given stream', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    for (const name of SUBSYSTEM_NAMES) {
      expect(mappingOf(template, name)).toMatchObject({ EventSourceArn: streamArn, MaximumRetryAttempts: 3, MaximumRecordAgeInSeconds: 3600 });
    }
  });

  it('sends every alarm to the topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>);
    expect(alarms).toHaveLength(3 * 4 + 2);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:oncall']);
  });

  it('points image-sync at the existing table by name', () => {
    expect(functionOf(template, 'image-sync').props.Environment.Variables.TABLE_NAME).toBe('platform');
  });
});
