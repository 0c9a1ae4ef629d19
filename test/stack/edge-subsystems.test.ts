import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { synthStack } from './synth';

type Resource = { Properties: Record<string, any> };
const mappings = (template: ReturnType<typeof synthStack>['template']) => Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Record<string, Resource>).map((m) => m.Properties);
const functionRef = (template: ReturnType<typeof synthStack>['template'], service: string) =>
  Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } } }))[0];

describe('edge subsystems in StreamFanout', () => {
  it('are off by default: no bus, no history table, no edge failure bucket, three readers', () => {
    const { template, stack } = synthStack();
    template.resourceCountIs('AWS::Events::EventBus', 0);
    expect(stack.fanout.auditTrail).toBeUndefined();
    expect(stack.fanout.domainEvents).toBeUndefined();
    expect(stack.fanout.edgeFailureBucket).toBeUndefined();
    expect(mappings(template)).toHaveLength(3);
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('^3 mappings read the table\'s DynamoDB stream; DynamoDB Streams advises at most 2 readers per shard.*source kinesis'));
  });

  describe('both on', () => {
    const { template, stack } = synthStack({ auditTrail: true, domainEvents: true });

    it('adds one function and one filtered mapping each (at most five filters), failing to the edge failure bucket', () => {
      const all = mappings(template);
      expect(all).toHaveLength(5);
      const edgeBucket = stack.getLogicalId(stack.fanout.edgeFailureBucket!.node.defaultChild as never);
      for (const service of ['audit-trail', 'domain-events']) {
        const mapping = all.find((m) => m.FunctionName.Ref === functionRef(template, service))!;
        expect(mapping.FilterCriteria.Filters.length).toBeGreaterThan(0);
        expect(mapping.FilterCriteria.Filters.length).toBeLessThanOrEqual(5);
        expect(mapping).toMatchObject({ BisectBatchOnFunctionError: true, FunctionResponseTypes: ['ReportBatchItemFailures'], MetricsConfig: { Metrics: ['EventCount'] } });
        expect(mapping.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [edgeBucket, 'Arn'] });
      }
      // The level-triggered subsystems keep the stream failure bucket that ops redrive reconciles.
      const streamBucket = stack.getLogicalId(stack.fanout.failureBucket.node.defaultChild as never);
      const sync = all.find((m) => m.FunctionName.Ref === functionRef(template, 'image-sync'))!;
      expect(sync.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [streamBucket, 'Arn'] });
    });

    it('warns that five mappings read one DynamoDB stream', () => {
      Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('^5 mappings read'));
    });

    it('alarms for each: iterator age, errors, delivery failures, freshness, and the edge failure bucket', () => {
      const ids = stack.fanout.alarms.map((a) => a.node.id);
      for (const id of ['AuditTrail', 'DomainEvents']) {
        for (const suffix of ['IteratorAgeAlarm', 'ErrorsAlarm', 'DestinationDeliveryFailuresAlarm', 'FreshnessAlarm']) expect(ids).toContain(`${id}${suffix}`);
      }
      expect(ids).toContain('EdgeFailuresAlarm');
    });

    it('outputs the bus, the history table and the edge failure bucket', () => {
      const outputs = Object.keys(template.findOutputs('*'));
      expect(outputs).toEqual(expect.arrayContaining(['DomainEventsBusArn', 'AuditTrailHistoryTableName', 'EdgeFailureBucketName', 'AuditTrailFunctionName', 'DomainEventsFunctionName']));
    });
  });

  it('from context: -c auditTrail=true -c domainEvents=true', () => {
    const { propsFromContext } = require('../../lib/context') as typeof import('../../lib/context');
    expect(propsFromContext({ auditTrail: 'true', domainEvents: 'true' })).toMatchObject({ auditTrail: true, domainEvents: true });
    expect(propsFromContext({ auditTrail: 'false' }).auditTrail).toBeUndefined();
    expect(() => propsFromContext({ auditTrail: 'yes' })).toThrow('auditTrail must be true or false, got "yes"');
  });
});
