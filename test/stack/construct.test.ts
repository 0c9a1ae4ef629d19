import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { StreamFanout, type StreamFanoutProps } from '../../lib';
import { COUNT_METRICS, METRIC_PUBLISHERS } from '../../lambda/shared/metric-names';
import { testContext } from './synth';

type Resource = { Properties: Record<string, any> };
const STREAM = 'arn:aws:dynamodb:eu-west-1:123456789012:table/platform/stream/2026-01-01T00:00:00.000';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:typesense-admin-AbCdEf';
const INDEXER = { typesenseNodes: ['https://search-1.example.com', 'https://search-2.example.com:8108'], typesenseApiKeySecretArn: SECRET };

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

  it('runs the indexer on the search queue: batches of 10, partial batch responses, its configuration in env', () => {
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
    });
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, VisibilityTimeout: 6 * 30, MaximumMessageSize: 1_048_576 });
  });

  it('grants the indexer the one secret, BatchGetItem on the indexed partitions, and consume on the queue only', () => {
    const id = functionId(template, 'typesense-indexer')!;
    const role = (template.findResources('AWS::Lambda::Function')[id] as Resource).Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }) as Record<string, Resource>).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>,
    );
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

  it('alarms on the search queue age and the indexer errors', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 300 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(template, 'typesense-indexer') } }] });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3 * 2 + 2 + 2);
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
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3 * 2 + 2);
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
    ['a log level Powertools does not know', () => ({ logLevel: 'TRACE' }), 'logLevel must be one of DEBUG, INFO, WARN, ERROR, SILENT, CRITICAL, got "TRACE"', 'eu-west-1'],
    ['a bad node URL', () => ({ indexer: { ...INDEXER, typesenseNodes: ['ftp://x'] } }), 'typesenseNodes: "ftp://x" is not an http(s) URL of the form https://host[:port]', 'eu-west-1'],
    ['a bad secret ARN', () => ({ indexer: { ...INDEXER, typesenseApiKeySecretArn: 'arn:aws:ssm:eu-west-1:123456789012:parameter/x' } }), 'typesenseApiKeySecretArn is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>): arn:aws:ssm:eu-west-1:123456789012:parameter/x', 'eu-west-1'],
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
