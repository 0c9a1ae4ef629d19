import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { StreamFanout, type LogLevel, type StreamFanoutProps } from '../../lib';
import { COUNT_METRICS, METRIC_PUBLISHERS } from '../../lambda/shared/metric-names';
import { testContext } from './synth';

type Resource = { Properties: Record<string, any> };
const STREAM = 'arn:aws:dynamodb:eu-west-1:123456789012:table/platform/stream/2026-01-01T00:00:00.000';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:typesense-admin-AbCdEf';
const INDEXER = { typesenseNodes: ['https://search-1.example.com', 'https://search-2.example.com:8108'], typesenseApiKeySecretArn: SECRET };
const PARTIAL_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:typesense-admin';
const KMS_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** A team's own stack with its own resources, the fan-out added as one construct. */
function foreignStack(props: (stack: Stack) => StreamFanoutProps, region = 'eu-west-1') {
  const app = new App({ context: testContext() });
  const stack = new Stack(app, 'TeamStack', { env: { account: '123456789012', region } });
  new dynamodb.Table(stack, 'UnrelatedTable', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
  const fanout = new StreamFanout(stack, 'Search', props(stack));
  return { stack, fanout, template: Template.fromStack(stack) };
}

const functionId = (template: Template, service: string) =>
  Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } } }))[0];

/** Every statement of the policies on a function's role. */
function statementsOf(template: Template, service: string): Array<Record<string, any>> {
  const id = functionId(template, service)!;
  const role = (template.findResources('AWS::Lambda::Function')[id] as Resource).Properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }) as Record<string, Resource>).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>,
  );
}

const indexerMapping = (template: Template) =>
  Object.values(template.findResources('AWS::Lambda::EventSourceMapping', { Properties: { FunctionName: { Ref: functionId(template, 'typesense-indexer') } } }) as Record<string, Resource>);

describe('StreamFanout in a foreign stack with an imported table', () => {
  const { template } = foreignStack((stack) => ({
    table: dynamodb.Table.fromTableAttributes(stack, 'Platform', { tableName: 'platform', tableStreamArn: STREAM }),
    indexer: INDEXER,
  }));

  it('creates no table of its own and maps the imported stream three times', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1); // the team's UnrelatedTable
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Record<string, Resource>);
    expect(mappings.filter((m) => m.Properties.EventSourceArn === STREAM)).toHaveLength(3);
  });

  it('adds no outputs to the team\'s stack (outputs belong to StreamFanoutStack)', () => {
    expect(template.findOutputs('*')).toEqual({});
  });

  it('runs the indexer on the search queue: batches of 10, partial batch responses, at most 2 concurrent invocations, its configuration in env', () => {
    const id = functionId(template, 'typesense-indexer')!;
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { TABLE_NAME: 'platform', TYPESENSE_NODES: 'https://search-1.example.com,https://search-2.example.com:8108', TYPESENSE_API_KEY_SECRET_ARN: SECRET, POWERTOOLS_METRICS_NAMESPACE: 'StreamFanout' } },
      Timeout: 30,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: id },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SearchActionsQueue'), 'Arn'] },
      // A 4-core Typesense takes at most cores - 2 concurrent imports; 2 is also Lambda's minimum.
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, VisibilityTimeout: 6 * 30, MaximumMessageSize: 1_048_576 });
  });

  it('grants the indexer the one secret (no KMS without the key option), BatchGetItem on the indexed partitions, and consume on the queue only', () => {
    const statements = statementsOf(template, 'typesense-indexer');
    expect(statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('kms:')))).toEqual([]);
    const by = (prefix: string) => statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith(prefix)));
    expect(by('secretsmanager:')).toEqual([expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: SECRET })]);
    expect(by('dynamodb:')).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:BatchGetItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['AIRCRAFT#REGISTRY#FAA', 'AIRCRAFT#REGISTRY#FOREIGN', 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#*', 'ICAO#AIRCRAFT', 'ICAO#MANUFACTURERS'] } },
      }),
    ]);
    const sqsActions = by('sqs:').flatMap((s) => [s.Action].flat());
    expect(sqsActions.sort()).toEqual(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage']);
    for (const s of by('sqs:')) expect(s.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SearchSearchActionsQueue/), 'Arn'] });
  });

  it("alarms on the search queue age, the indexer's errors and its own throttled and fatal Failures (no destination alarm: the queue has its DLQ)", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 300 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(template, 'typesense-indexer') } }] });
    const failures = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Failures' } }) as Record<string, Resource>).map((a) => a.Properties);
    expect(failures.map((a) => a.Dimensions.find((d: { Name: string }) => d.Name === 'kind').Value).sort()).toEqual(['fatal', 'throttled']);
    for (const a of failures) expect(a).toMatchObject({ Namespace: 'StreamFanout', Statistic: 'Sum', Threshold: 1, TreatMissingData: 'notBreaching' });
    const delivery = template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'DestinationDeliveryFailures' } });
    expect(Object.values(delivery).map((a: any) => a.Properties.Dimensions[0].Value.Ref)).not.toContain(functionId(template, 'typesense-indexer'));
    // The indexer: errors, queue age, throttled and fatal Failures, and its freshness (the end-to-end one).
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ChangeToAppliedMs', ExtendedStatistic: 'p99', Dimensions: [{ Name: 'service', Value: 'typesense-indexer' }] });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3 * 4 + 2 + 5);
  });

  it('has the dashboard, with every custom metric graphed for exactly the functions that publish it', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard') as Record<string, Resource>)[0]!.Properties.DashboardBody);
    const services = ['typesense-sync', 'image-sync', 'faa-matcher-sync', 'typesense-indexer'];
    for (const metric of COUNT_METRICS) {
      for (const service of services) {
        const series = `[\\"StreamFanout\\",\\"${metric}\\",\\"service\\",\\"${service}\\"`;
        if (METRIC_PUBLISHERS[metric].includes(service)) expect(body).toContain(series);
        else expect(body).not.toContain(series);
      }
    }
    expect(body).toContain(`SEARCH('{StreamFanout,kind,service} MetricName=\\\\\\"Failures\\\\\\" service=\\\\\\"image-sync\\\\\\"'`);
    expect(body).toContain('\\"AWS/S3\\",\\"PutRequests\\"');
    expect(body).toContain('\\"AWS/Lambda\\",\\"IteratorAge\\"');
    expect(body).toContain('\\"AWS/SQS\\",\\"ApproximateAgeOfOldestMessage\\"');
  });
});

describe('StreamFanout options', () => {
  it('without indexer options: no indexer, no queue-age or indexer alarm (the queue is for another consumer)', () => {
    const { template, fanout } = foreignStack(() => ({ tableName: 'platform', tableStreamArn: STREAM }));
    expect(fanout.indexer).toBeUndefined();
    expect(functionId(template, 'typesense-indexer')).toBeUndefined();
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    expect(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ApproximateAgeOfOldestMessage' } })).toEqual({});
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3 * 4 + 2);
  });

  it('the indexer with a customer-managed KMS key: kms:Decrypt on that key only through Secrets Manager for this secret; maxConcurrency sets the mapping\'s', () => {
    const { template } = foreignStack(() => ({ indexer: { ...INDEXER, typesenseApiKeyKmsKeyArn: KMS_KEY, maxConcurrency: 6 } }));
    const kms = statementsOf(template, 'typesense-indexer').filter((s) => [s.Action].flat().some((a: string) => a.startsWith('kms:')));
    expect(kms).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: KMS_KEY,
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com', 'kms:EncryptionContext:SecretARN': SECRET } },
      },
    ]);
    expect(indexerMapping(template).map((m) => m.Properties.ScalingConfig)).toEqual([{ MaximumConcurrency: 6 }]);
  });

  it('a secret and a key of the same app (tokens) are granted as CloudFormation resolves them; the ViaService region is the secret\'s', () => {
    const { template } = foreignStack((stack) => {
      const key = new kms.Key(stack, 'SearchKey', { enableKeyRotation: true });
      const secret = new secretsmanager.Secret(stack, 'SearchSecret', { encryptionKey: key });
      return { indexer: { ...INDEXER, typesenseApiKeySecretArn: secret.secretArn, typesenseApiKeyKmsKeyArn: key.keyArn } };
    });
    const [statement] = statementsOf(template, 'typesense-indexer').filter((s) => s.Action === 'kms:Decrypt');
    expect(statement!.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SearchKey/), 'Arn'] });
    const secretRef = { Ref: expect.stringMatching(/^SearchSecret/) };
    expect(statement!.Condition.StringEquals['kms:EncryptionContext:SecretARN']).toEqual(secretRef);
    expect(statement!.Condition.StringEquals['kms:ViaService']).toEqual({ 'Fn::Join': ['', ['secretsmanager.', { 'Fn::Select': [3, { 'Fn::Split': [':', secretRef] }] }, '.amazonaws.com']] });
  });

  it('every mapping has at most 5 filters (Lambda rejects a sixth at deploy, not at synth)', () => {
    const { template } = foreignStack(() => ({}));
    for (const m of Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Record<string, Resource>)) {
      expect(m.Properties.FilterCriteria.Filters.length).toBeGreaterThan(0);
      expect(m.Properties.FilterCriteria.Filters.length).toBeLessThanOrEqual(5);
    }
  });

  it('failureRetentionDays sets the expiry; the access-log bucket, when given, receives server access logs', () => {
    const { template } = foreignStack((stack) => ({ failureRetentionDays: 14, failureAccessLogsBucket: new (require('aws-cdk-lib/aws-s3').Bucket)(stack, 'Logs') }));
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 14 })] },
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^Logs') }, LogFilePrefix: 'stream-failures/' },
    });
  });

  // The exact one-line messages (ConfigError) for props that CDK context cannot check alone.
  it.each<[string, (stack: Stack) => StreamFanoutProps, string, string]>([
    ['table and tableName', (s) => ({ table: dynamodb.Table.fromTableAttributes(s, 'T', { tableName: 'platform', tableStreamArn: STREAM }), tableName: 'platform', tableStreamArn: STREAM }), 'give either table or tableName + tableStreamArn, not both', 'eu-west-1'],
    ['a table without stream', (s) => ({ table: dynamodb.Table.fromTableName(s, 'T', 'platform') }), 'table has no tableStreamArn: import it with Table.fromTableAttributes({ tableName, tableStreamArn })', 'eu-west-1'],
    ['another table\'s stream', () => ({ tableName: 'platfrom', tableStreamArn: STREAM }), 'tableName platfrom does not match the table in tableStreamArn (platform)', 'eu-west-1'],
    ['an imported table with another table\'s stream', (s) => ({ table: dynamodb.Table.fromTableAttributes(s, 'T', { tableName: 'other', tableStreamArn: STREAM }) }), 'tableName other does not match the table in tableStreamArn (platform)', 'eu-west-1'],
    ['a stream in another region', () => ({ tableName: 'platform', tableStreamArn: STREAM }), 'tableStreamArn is in region eu-west-1 but the stack deploys to us-east-1: a mapping reads streams of its own region only', 'us-east-1'],
    // A plain-JavaScript caller is not held to the LogLevel type.
    ['a log level Powertools does not know', () => ({ logLevel: 'TRACE' as LogLevel }), 'logLevel must be one of DEBUG, INFO, WARN, ERROR, SILENT, CRITICAL, got "TRACE"', 'eu-west-1'],
    ['a bad node URL', () => ({ indexer: { ...INDEXER, typesenseNodes: ['ftp://x'] } }), 'typesenseNodes: "ftp://x" is not an http(s) URL of the form https://host[:port]', 'eu-west-1'],
    ['a bad secret ARN', () => ({ indexer: { ...INDEXER, typesenseApiKeySecretArn: 'arn:aws:ssm:eu-west-1:123456789012:parameter/x' } }), 'typesenseApiKeySecretArn is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>): arn:aws:ssm:eu-west-1:123456789012:parameter/x', 'eu-west-1'],
    ['a partial secret ARN', () => ({ indexer: { ...INDEXER, typesenseApiKeySecretArn: PARTIAL_SECRET } }), `typesenseApiKeySecretArn must be the secret's complete ARN, ending in the 6 characters Secrets Manager appends to its name (…:secret:typesense-admin-AbCdEf), since IAM would match a partial one to no secret: ${PARTIAL_SECRET}`, 'eu-west-1'],
    ['a KMS alias', () => ({ indexer: { ...INDEXER, typesenseApiKeyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:alias/typesense' } }), 'typesenseApiKeyKmsKeyArn is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>; not an alias): arn:aws:kms:eu-west-1:123456789012:alias/typesense', 'eu-west-1'],
    ['a KMS key of another region', () => ({ indexer: { ...INDEXER, typesenseApiKeyKmsKeyArn: KMS_KEY.replace('eu-west-1', 'us-east-1') } }), 'typesenseApiKeyKmsKeyArn is in region us-east-1 but the secret is in eu-west-1: Secrets Manager encrypts a secret with a key of its own region', 'eu-west-1'],
    ['an indexer concurrency below Lambda\'s minimum', () => ({ indexer: { ...INDEXER, maxConcurrency: 1 } }), 'indexer.maxConcurrency must be an integer from 2 to 1000, got 1', 'eu-west-1'],
    ['maxRecordAge above Lambda\'s limit', () => ({ mapping: { maxRecordAgeSeconds: 700_000 } }), 'maxRecordAgeSeconds must be an integer from 60 to 604800, got 700000', 'eu-west-1'],
  ])('rejects %s with one line', (_, props, message, region) => {
    expect(() => foreignStack(props, region)).toThrow(expect.objectContaining({ name: 'ConfigError', message }));
  });

  it('accepts a stream of its own region, and any region when the stack is environment-agnostic', () => {
    expect(() => foreignStack(() => ({ tableName: 'platform', tableStreamArn: STREAM }))).not.toThrow();
    const app = new App({ context: testContext() });
    expect(() => new StreamFanout(new Stack(app, 'Agnostic'), 'F', { tableName: 'platform', tableStreamArn: STREAM })).not.toThrow();
  });
});
