import { App } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { StreamFanoutStack, type StreamFanoutStackProps } from '../../lib/stream-fanout-stack';
import { testContext } from './synth';

/** The one synth with aws-cdk-lib's built-in CloudFormation validation on (~2 s). */
describe('built-in CloudFormation validation', () => {
  const saved = process.env.CDK_VALIDATION;
  beforeAll(() => delete process.env.CDK_VALIDATION);
  afterAll(() => (process.env.CDK_VALIDATION = saved));

  const synth = (mutate?: (stack: StreamFanoutStack) => void, props: StreamFanoutStackProps = {}) => {
    const app = new App({ context: testContext() });
    const stack = new StreamFanoutStack(app, 'ValidatedStack', { env: { account: '123456789012', region: 'eu-west-1' }, ...props });
    mutate?.(stack);
    const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      return app.synth();
    } finally {
      log.mockRestore();
    }
  };

  it('accepts the stack', () => {
    expect(synth().getStackByName('ValidatedStack').template.Resources).toBeDefined();
  });

  it('accepts the stack with the indexer (KMS grant, mapping concurrency, Failures alarms)', () => {
    const indexer = {
      typesenseNodes: ['https://search.example.com'],
      typesenseApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ts-AbCdEf',
      typesenseApiKeyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    };
    expect(synth(undefined, { indexer }).getStackByName('ValidatedStack').template.Resources).toBeDefined();
  });

  it("is on, and strict (cdk.json's validateAgainstDefaultRules): an invalid property fails synth", () => {
    expect(() =>
      synth((stack) => (new sqs.Queue(stack, 'Broken').node.defaultChild as sqs.CfnQueue).addPropertyOverride('NotAProperty', 1)),
    ).toThrow(/NotAProperty|F3002/);
  });
});
