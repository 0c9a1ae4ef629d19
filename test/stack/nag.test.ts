import { Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { StreamFanout } from '../../lib/stream-fanout';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { synthWithNag } from './nag-support';

// With a customer-managed key for the secret: its kms:Decrypt grant is checked too.
const INDEXER = {
  typesenseNodes: ['https://search.example.com'],
  typesenseApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ts-AbCdEf',
  typesenseApiKeyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};

describe('cdk-nag AwsSolutions and Serverless', () => {
  it('synthesises with no unacknowledged finding, warnings included', () => {
    const { error, violations } = synthWithNag();
    expect(violations).toEqual([]);
    expect(error).toBeUndefined();
  });

  it('synthesises with the indexer with no unacknowledged finding', () => {
    const { error, violations } = synthWithNag(undefined, { indexer: INDEXER });
    expect(violations).toEqual([]);
    expect(error).toBeUndefined();
  });

  it('synthesises with the audit trail and domain events with no unacknowledged finding', () => {
    const { error, violations } = synthWithNag(undefined, { auditTrail: true, domainEvents: true });
    expect(violations).toEqual([]);
    expect(error).toBeUndefined();
  });

  it('runs the Serverless pack: its findings on the search DLQ and the SQS mapping are acknowledged by the construct itself', () => {
    const { error, violations, stack } = synthWithNag(undefined, { indexer: INDEXER });
    expect(violations).toEqual([]);
    expect(error).toBeUndefined();
    const rules = (path: string) => stack.node.findAll().filter((c) => c.node.path.startsWith(path)).flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').flatMap((m) => Object.keys(m.data as object)));
    expect(rules('NagStack/Default/SearchActionsDlq')).toContain('Annotation::Serverless-SQSRedrivePolicy');
    expect(rules('NagStack/Default/TypesenseIndexer/Function/Function')).toContain('Annotation::Serverless-LambdaEventSourceMappingDestination');
  });

  it("inside a team's own stack (other logical IDs) the acknowledgements still hold", () => {
    const { error, violations } = synthWithNag(undefined, {}, (app) => {
      const stack = new Stack(app, 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
      const table = dynamodb.Table.fromTableAttributes(stack, 'T', { tableName: 'platform', tableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/platform/stream/x' });
      // Every acknowledgement comes with the construct: a team running ServerlessChecks adds nothing.
      new StreamFanout(stack, 'Search', { table, indexer: INDEXER });
      return stack;
    });
    expect(violations.filter((v) => v.severity === 'error')).toEqual([]);
    expect(error).toBeUndefined();
  });

  it('is live: an unacknowledged finding fails synth and is reported at its path', () => {
    const { error, violations } = synthWithNag((stack) => new sqs.Queue(stack, 'Unguarded'));
    expect(error?.message).toMatch(/AwsSolutions-SQS3/);
    const paths = violations.filter((v) => v.severity === 'error').flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`));
    expect(paths).toEqual(expect.arrayContaining(['AwsSolutions-SQS3 NagStack/Unguarded/Resource', 'AwsSolutions-SQS4 NagStack/Unguarded/Resource']));
  });

  it('every acknowledgement names its rule and gives a reason', () => {
    const { stack } = synthWithNag();
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').map((m) => ({ path: c.node.path, data: m.data as Record<string, string> })));
    const entries = acknowledged.flatMap(({ path, data }) => Object.entries(data).map(([rule, reason]) => ({ path, rule, reason })));
    // Per stream function: IAM5 for ListStreams and for failure-object keys, L1, and the three
    // Serverless function rules; S1 on the failure bucket; SQSRedrivePolicy on the search DLQ.
    expect(entries).toHaveLength(3 * 6 + 2);
    for (const { rule, reason } of entries) {
      expect(rule).toMatch(/^(Annotation::)?(AwsSolutions-(IAM5\[Resource::\*\]|IAM5\[Resource::<StreamFailuresBucket\w+\.Arn>\/aws\/lambda\/\*\]|L1|S1)|Serverless-(LambdaDLQ|LambdaLatestVersion|LambdaTracing|SQSRedrivePolicy))$/);
      expect(reason.length).toBeGreaterThan(40);
    }
  });
});
