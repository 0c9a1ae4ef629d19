import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as cr from 'aws-cdk-lib/custom-resources';
import { StreamFanout } from '../../lib/stream-fanout';
import { StreamFanoutStack, type StreamFanoutStackProps } from '../../lib/stream-fanout-stack';
import { SUBSYSTEM_NAMES } from '../../lambda/subsystems';
import { synthWithNag } from './nag-support';
import { synthStack, testContext } from './synth';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const GIVEN_STREAM = 'arn:aws:kinesis:eu-west-1:123456789012:stream/platform-changes';
const TABLE_STREAM = 'arn:aws:dynamodb:eu-west-1:123456789012:table/platform/stream/2026-01-01T00:00:00.000';
/** The stream functions with domain events and the audit trail: five mappings, five consumers. */
const FUNCTIONS = [...SUBSYSTEM_NAMES, 'domain-events', 'audit-trail'] as const;
const EDGES = { domainEvents: true, auditTrail: true } as const;

const resources = (template: Template, type: string) => template.findResources(type) as Record<string, Resource>;
const actions = (s: Statement) => [s.Action].flat();
const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });

/** The function's logical id, by its service name. */
const functionId = (template: Template, service: string) =>
  Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } } }))[0]!;

/** The stream mapping of a function (the one with a starting position: not an SQS mapping). */
function streamMapping(template: Template, service: string): Resource {
  const fn = functionId(template, service);
  const found = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping')).filter((m) => m.Properties.FunctionName?.Ref === fn && m.Properties.StartingPosition);
  expect(found).toHaveLength(1);
  return found[0]!;
}

const filtersOf = (mapping: Resource) => (mapping.Properties.FilterCriteria.Filters as Array<{ Pattern: string }>).map((f) => JSON.parse(f.Pattern));

/** Every statement of the policies on a function's role. */
function statementsOf(template: Template, service: string): Statement[] {
  const id = functionId(template, service);
  const role = (resources(template, 'AWS::Lambda::Function')[id]!).Properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }) as Record<string, Resource>).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as Statement[],
  );
}

/** Every statement of every IAM policy in the template, with the policy's logical id. */
const allStatements = (template: Template) =>
  Object.entries(resources(template, 'AWS::IAM::Policy')).flatMap(([id, p]) => (p.Properties.PolicyDocument.Statement as Statement[]).map((s) => ({ policy: id, ...s })));

const consumerId = (template: Template, name: string) =>
  Object.keys(template.findResources('AWS::Kinesis::StreamConsumer', { Properties: { ConsumerName: `TestStack-${name}` } }))[0]!;

describe('source=kinesis with the table it creates', () => {
  const { template } = synthStack({ source: 'kinesis', ...EDGES });
  const streamId = Object.keys(resources(template, 'AWS::Kinesis::Stream'))[0]!;

  it('creates one on-demand data stream, encrypted with the AWS-managed key, 24 h retention', () => {
    template.resourceCountIs('AWS::Kinesis::Stream', 1);
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      RetentionPeriodHours: 24,
      ShardCount: Match.absent(),
    });
  });

  it("points the table's Kinesis streaming destination at it, to the microsecond; no custom resource", () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KinesisStreamSpecification: { StreamArn: getAtt(streamId, 'Arn'), ApproximateCreationDateTimePrecision: 'MICROSECOND' },
    });
    template.resourceCountIs('Custom::AWS', 0);
  });

  it('registers one enhanced fan-out consumer per function, named after the stack and the function', () => {
    const consumers = Object.values(resources(template, 'AWS::Kinesis::StreamConsumer'));
    expect(consumers.map((c) => c.Properties.ConsumerName).sort()).toEqual(FUNCTIONS.map((name) => `TestStack-${name}`).sort());
    for (const c of consumers) expect(c.Properties.StreamARN).toEqual(getAtt(streamId, 'Arn'));
  });

  it("maps each function once, through its own consumer; nothing reads the table's DynamoDB stream", () => {
    const mappings = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(FUNCTIONS.length);
    for (const name of FUNCTIONS) {
      expect(streamMapping(template, name).Properties.EventSourceArn).toEqual(getAtt(consumerId(template, name), 'ConsumerARN'));
    }
    for (const policy of allStatements(template)) expect(actions(policy).filter((a) => a.startsWith('dynamodb:') && /Stream|GetRecords|GetShardIterator/.test(a))).toEqual([]);
  });

  it("filters on the change inside the record's data: the same key filters as on a stream record, wrapped under data", () => {
    const { template: plain } = synthStack(EDGES);
    for (const name of FUNCTIONS) {
      const onStream = filtersOf(streamMapping(plain, name));
      expect(onStream.length).toBeGreaterThan(0);
      expect(filtersOf(streamMapping(template, name))).toEqual(onStream.map((pattern) => ({ data: pattern })));
    }
  });

  it('keeps the mapping semantics: S3 failure destination, bisect, partial batch responses, bounded retries and age, event counts', () => {
    const { template: plain } = synthStack(EDGES);
    const bucketOf = (name: string) => (name === 'domain-events' || name === 'audit-trail' ? 'EdgeFailuresBucket' : 'StreamFailuresBucket');
    for (const name of FUNCTIONS) {
      const { Properties: p } = streamMapping(template, name);
      expect(p.DestinationConfig.OnFailure.Destination['Fn::GetAtt'][0]).toMatch(new RegExp(`^${bucketOf(name)}`));
      expect(p).toMatchObject({
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 21_600,
        StartingPosition: 'TRIM_HORIZON',
        ParallelizationFactor: 1,
        MetricsConfig: { Metrics: ['EventCount'] },
      });
      // Apart from the source and the filters' place, the mapping is the DynamoDB Streams one.
      const strip = ({ EventSourceArn, FilterCriteria, ...rest }: Record<string, unknown>) => rest;
      expect(strip(p)).toEqual(strip(streamMapping(plain, name).Properties));
    }
  });

  it('grants each function SubscribeToShard and DescribeStreamConsumer on its own consumer only, the rest on this stream only, nothing on *', () => {
    const consumers = Object.fromEntries(FUNCTIONS.map((name) => [name, getAtt(consumerId(template, name), 'ConsumerARN')]));
    for (const name of FUNCTIONS) {
      const statements = statementsOf(template, name);
      expect(statements.filter((s) => JSON.stringify(s.Resource).includes('*') && !JSON.stringify(s.Resource).endsWith('/aws/lambda/*"]]}'))).toEqual([]);
      const kinesis = statements.filter((s) => actions(s).some((a) => a.startsWith('kinesis:')));
      const onConsumer = kinesis.filter((s) => JSON.stringify(s.Resource).includes('ConsumerARN'));
      expect(onConsumer).toEqual([expect.objectContaining({ Action: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'], Resource: consumers[name] })]);
      for (const s of kinesis.filter((k) => !onConsumer.includes(k))) expect(s.Resource).toEqual(getAtt(streamId, 'Arn'));
      // Reading is all: no writes to the stream, no consumer registration.
      expect(kinesis.flatMap(actions).filter((a) => /Put|Register|Deregister|Create|Delete|Update/.test(a))).toEqual([]);
    }
  });

  it('gives no readers-per-shard warning: every function has its own consumer', () => {
    const { stack } = synthStack({ source: 'kinesis', ...EDGES });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('readers per shard'));
  });
});

describe('source=kinesis options', () => {
  it('a provisioned stream with the given shards and retention; parallelizationFactor on every mapping', () => {
    const { template } = synthStack({ source: 'kinesis', kinesis: { shardCount: 4, retentionHours: 168 }, mapping: { parallelizationFactor: 5 } });
    template.hasResourceProperties('AWS::Kinesis::Stream', { StreamModeDetails: { StreamMode: 'PROVISIONED' }, ShardCount: 4, RetentionPeriodHours: 168 });
    for (const name of SUBSYSTEM_NAMES) expect(streamMapping(template, name).Properties.ParallelizationFactor).toBe(5);
  });

  it('given kinesisStreamArn and a table of its own: no stream and no custom resource are created; consumers and grants on the given stream', () => {
    const { template } = synthStack({ source: 'kinesis', tableName: 'platform', kinesis: { streamArn: GIVEN_STREAM } });
    template.resourceCountIs('AWS::Kinesis::Stream', 0);
    template.resourceCountIs('Custom::AWS', 0);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    const consumers = Object.values(resources(template, 'AWS::Kinesis::StreamConsumer'));
    expect(consumers).toHaveLength(SUBSYSTEM_NAMES.length);
    for (const c of consumers) expect(c.Properties.StreamARN).toBe(GIVEN_STREAM);
    for (const name of SUBSYSTEM_NAMES) {
      const onStream = statementsOf(template, name).filter((s) => actions(s).includes('kinesis:GetRecords'));
      expect(onStream.map((s) => s.Resource)).toEqual([GIVEN_STREAM]);
    }
  });

  it('given kinesisStreamArn with a new table: the table streams to the given stream', () => {
    const { template } = synthStack({ source: 'kinesis', kinesis: { streamArn: GIVEN_STREAM } });
    template.resourceCountIs('AWS::Kinesis::Stream', 0);
    template.hasResourceProperties('AWS::DynamoDB::Table', { KinesisStreamSpecification: { StreamArn: GIVEN_STREAM, ApproximateCreationDateTimePrecision: 'MICROSECOND' } });
  });

  it.each([
    [{ source: 'kinesis', kinesis: { streamArn: GIVEN_STREAM, shardCount: 2 } }, 'kinesisShardCount and kinesisRetentionHours apply to a stream this stack creates, not to kinesisStreamArn'],
    [{ source: 'kinesis', kinesis: { streamArn: 'arn:aws:kinesis:eu-west-1:123456789012:platform-changes' } }, 'kinesisStreamArn is not a Kinesis data stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>): arn:aws:kinesis:eu-west-1:123456789012:platform-changes'],
    [{ source: 'kinesis', kinesis: { retentionHours: 12 } }, 'kinesisRetentionHours must be an integer from 24 to 8760, got 12'],
    [{ kinesis: { shardCount: 2 } }, 'kinesis options need source kinesis'],
    [{ source: 'kinesis-data-streams' }, 'source must be one of dynamodb-streams, kinesis, got "kinesis-data-streams"'],
    [{ mapping: { parallelizationFactor: 11 } }, 'parallelizationFactor must be an integer from 1 to 10, got 11'],
  ] as Array<[StreamFanoutStackProps, string]>)('refuses %j', (props, message) => {
    expect(() => synthStack(props)).toThrow(message);
  });
});

describe("source=kinesis on a table the stack does not create", () => {
  const { template } = synthStack({ source: 'kinesis', tableName: 'platform' });
  const streamId = Object.keys(resources(template, 'AWS::Kinesis::Stream'))[0]!;

  it("creates the stream and a custom resource that enables the table's Kinesis streaming destination (microseconds) and disables it on delete", () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::Kinesis::Stream', 1);
    const [custom] = Object.values(resources(template, 'Custom::AWS'));
    expect(Object.keys(resources(template, 'Custom::AWS'))).toHaveLength(1);
    const call = (json: { 'Fn::Join': [string, unknown[]] }) => JSON.parse(json['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<stream>')).join(''));
    expect(call(custom!.Properties.Create)).toEqual({
      service: 'DynamoDB',
      action: 'EnableKinesisStreamingDestination',
      parameters: { TableName: 'platform', StreamArn: '<stream>', EnableKinesisStreamingConfiguration: { ApproximateCreationDateTimePrecision: 'MICROSECOND' } },
      physicalResourceId: { id: 'platform/kinesis-destination' },
    });
    expect(call(custom!.Properties.Delete)).toMatchObject({ action: 'DisableKinesisStreamingDestination', parameters: { TableName: 'platform', StreamArn: '<stream>' } });
    expect(JSON.stringify(custom!.Properties.Create)).toContain(JSON.stringify(getAtt(streamId, 'Arn')));
    expect(custom!.DependsOn).toEqual(expect.arrayContaining([streamId]));
  });

  it("the custom resource's policy: the destination actions on this table, DescribeStream and PutRecords on this stream; ListStreams on * is the template's only wildcard", () => {
    const wildcards = allStatements(template).filter((s) => JSON.stringify(s.Resource).includes('*') && !JSON.stringify(s.Resource).endsWith('/aws/lambda/*"]]}'));
    expect(wildcards).toEqual([expect.objectContaining({ policy: expect.stringMatching(/^ChangeStreamTableDestinationCustomResourcePolicy/), Action: 'kinesis:ListStreams', Resource: '*' })]);
    const policy = allStatements(template).filter((s) => s.policy.startsWith('ChangeStreamTableDestinationCustomResourcePolicy'));
    expect(policy.map(({ Action, Resource }) => ({ Action, Resource }))).toEqual([
      { Action: ['dynamodb:DisableKinesisStreamingDestination', 'dynamodb:EnableKinesisStreamingDestination'], Resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/platform' },
      { Action: ['kinesis:DescribeStream', 'kinesis:PutRecords'], Resource: getAtt(streamId, 'Arn') },
      { Action: 'kinesis:ListStreams', Resource: '*' },
    ]);
  });

  it('its provider function has a role of its own (no AWS managed policy) writing to its own log group, and an explicit memory size', () => {
    for (const role of Object.values(resources(template, 'AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const providerId = `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`;
    const provider = Object.entries(resources(template, 'AWS::Lambda::Function')).find(([id]) => id.startsWith(providerId))![1];
    expect(provider.Properties.MemorySize).toBe(128);
    const logGroup = provider.Properties.LoggingConfig.LogGroup.Ref as string;
    const role = provider.Properties.Role['Fn::GetAtt'][0] as string;
    const onRole = allStatements(template).filter((s) => (resources(template, 'AWS::IAM::Policy')[s.policy]!.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: role })));
    expect(onRole.map(({ Action, Resource }) => ({ Action, Resource }))).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: getAtt(logGroup, 'Arn') },
      ...allStatements(template).filter((s) => s.policy.startsWith('ChangeStreamTableDestinationCustomResourcePolicy')).map(({ Action, Resource }) => ({ Action, Resource })),
    ]);
  });

  it('tableName + tableStreamArn: the same custom resource, and the DynamoDB stream is not read', () => {
    const { template: both } = synthStack({ source: 'kinesis', tableName: 'platform', tableStreamArn: TABLE_STREAM });
    both.resourceCountIs('Custom::AWS', 1);
    expect(JSON.stringify(both.toJSON())).not.toContain(TABLE_STREAM);
  });

  it("in a team's stack that already has an AwsCustomResource: that provider (and its role) serves both", () => {
    const app = new App({ context: testContext() });
    const stack = new Stack(app, 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    new cr.AwsCustomResource(stack, 'TeamLookup', {
      onCreate: { service: 'SSM', action: 'GetParameter', parameters: { Name: 'x' }, physicalResourceId: cr.PhysicalResourceId.of('x') },
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    const table = dynamodb.Table.fromTableName(stack, 'Platform', 'platform');
    new StreamFanout(stack, 'Search', { table, source: 'kinesis' });
    const team = Template.fromStack(stack);
    team.resourceCountIs('Custom::AWS', 2);
    const providers = Object.keys(resources(team, 'AWS::Lambda::Function')).filter((id) => id.startsWith('AWS679f53fac002430cb0da5b7982bd2287'));
    expect(providers).toHaveLength(1);
    expect(Object.keys(resources(team, 'AWS::IAM::Role')).filter((id) => id.includes('ProviderRole'))).toEqual([]);
    expect(Object.keys(resources(team, 'AWS::Logs::LogGroup')).filter((id) => id.includes('ProviderLogGroup'))).toEqual([]);
  });
});

describe('the default source (DynamoDB Streams) is unchanged', () => {
  const { stack, template } = synthStack();

  it("is the template of source dynamodb-streams given explicitly, with no Kinesis resource; every mapping reads the table's stream", () => {
    expect(template.toJSON()).toEqual(synthStack({ source: 'dynamodb-streams' }).template.toJSON());
    for (const type of ['AWS::Kinesis::Stream', 'AWS::Kinesis::StreamConsumer', 'Custom::AWS']) template.resourceCountIs(type, 0);
    template.hasResourceProperties('AWS::DynamoDB::Table', { KinesisStreamSpecification: Match.absent() });
    const tableId = Object.keys(resources(template, 'AWS::DynamoDB::Table'))[0]!;
    for (const name of SUBSYSTEM_NAMES) {
      const { Properties: p } = streamMapping(template, name);
      expect(p.EventSourceArn).toEqual(getAtt(tableId, 'StreamArn'));
      expect(filtersOf(streamMapping(template, name)).every((f) => 'dynamodb' in f)).toBe(true);
    }
    expect(JSON.stringify(template.toJSON())).not.toMatch(/kinesis:/);
  });

  it("publishes Lambda's event counts on every stream mapping", () => {
    const { template: all } = synthStack(EDGES);
    for (const name of FUNCTIONS) expect(streamMapping(all, name).Properties.MetricsConfig).toEqual({ Metrics: ['EventCount'] });
  });

  it('warns at synth that three mappings are more readers than a DynamoDB stream serves per shard, naming source kinesis', () => {
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('readers per shard'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.entry.data).toMatch(/^3 mappings read the table's DynamoDB stream; .*at most 2 readers per shard .*source kinesis \(context -c source=kinesis\)/);
    const five = Annotations.fromStack(synthStack(EDGES).stack).findWarning('*', Match.stringLikeRegexp('readers per shard'));
    expect(five.map((w) => String(w.entry.data).slice(0, 40))).toEqual(["5 mappings read the table's DynamoDB str"]);
  });
});

describe('cdk-nag AwsSolutions and Serverless with source=kinesis', () => {
  it.each([
    ['a created table, domain events, the audit trail and the indexer', { source: 'kinesis', ...EDGES, indexer: { typesenseNodes: ['https://search.example.com'], typesenseApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ts-AbCdEf' } }],
    ['an existing table (the custom resource)', { source: 'kinesis', tableName: 'platform' }],
    ['a given stream', { source: 'kinesis', tableName: 'platform', kinesis: { streamArn: GIVEN_STREAM } }],
  ] as Array<[string, StreamFanoutStackProps]>)('%s: no unacknowledged finding, warnings included', (_, props) => {
    const { error, violations } = synthWithNag(undefined, props);
    expect(violations).toEqual([]);
    expect(error).toBeUndefined();
  });

  it("acknowledges only the custom resource's unavoidable findings, each with its reason", () => {
    const { stack } = synthWithNag(undefined, { source: 'kinesis', tableName: 'platform' });
    const entries = stack.node
      .findAll()
      .filter((c) => /ChangeStream|AWS679f53fac002430cb0da5b7982bd2287/.test(c.node.path))
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').flatMap((m) => Object.entries(m.data as Record<string, string>).map(([rule, reason]) => ({ path: c.node.path, rule, reason }))));
    expect(entries.map(({ path, rule }) => `${rule.replace(/^Annotation::/, '')} ${path}`).sort()).toEqual([
      'AwsSolutions-IAM5[Resource::*] NagStack/Default/ChangeStream/TableDestination',
      'Serverless-LambdaDLQ NagStack/AWS679f53fac002430cb0da5b7982bd2287',
      'Serverless-LambdaTracing NagStack/AWS679f53fac002430cb0da5b7982bd2287',
    ]);
    for (const { reason } of entries) expect(reason.length).toBeGreaterThan(60);
  });
});

describe('built-in CloudFormation validation with source=kinesis', () => {
  const saved = process.env.CDK_VALIDATION;
  beforeAll(() => delete process.env.CDK_VALIDATION);
  afterAll(() => (process.env.CDK_VALIDATION = saved));

  it.each([
    ['a created table', { source: 'kinesis', ...EDGES, kinesis: { shardCount: 2, retentionHours: 48 } }],
    ['an existing table', { source: 'kinesis', tableName: 'platform' }],
  ] as Array<[string, StreamFanoutStackProps]>)('accepts the stack with %s', (_, props) => {
    const app = new App({ context: testContext() });
    new StreamFanoutStack(app, 'ValidatedStack', { env: { account: '123456789012', region: 'eu-west-1' }, ...props });
    const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(app.synth().getStackByName('ValidatedStack').template.Resources).toBeDefined();
    } finally {
      log.mockRestore();
    }
  });
});
