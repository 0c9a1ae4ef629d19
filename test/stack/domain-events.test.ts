/**
 * The DomainEvents construct's template, instantiated directly in a test stack as StreamFanout
 * wires it (the table's stream, the failure bucket, the fan-out's alarms): its function and
 * mapping (the fan-out's mapping settings, filters from the row kinds, at most 5), the bus
 * (created or given by ARN), IAM exactly events:PutEvents on that bus, and its alarms. Off by
 * default: the fan-out without the option has none of it.
 */
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_FILTERS_PER_MAPPING, rowKindFilters } from '../../lambda/shared/row-kinds';
import { addNagPacks } from '../../bin/nag';
import { FanoutAlarms } from '../../lib/alarms';
import { ConfigError } from '../../lib/config';
import { DomainEvents, type DomainEventsOptions } from '../../lib/domain-events';
import { FailureBucket } from '../../lib/failure-bucket';
import { DEFAULT_MAPPING_SETTINGS } from '../../lib/mapping-settings';
import { DynamoStreamsSource } from '../../lib/sources/dynamodb-streams';
import { synthStack, testContext } from './synth';

type Resource = { Properties: Record<string, any> };

function build(options: DomainEventsOptions = {}, app = new App({ context: testContext() })) {
  const stack = new Stack(app, 'EventsStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const table = new dynamodb.Table(stack, 'Table', {
    partitionKey: { name: 'PK', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'SK', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
  const failures = new FailureBucket(stack, 'Failures', { retentionDays: 90 });
  const events = new DomainEvents(stack, 'Events', {
    ...options,
    source: new DynamoStreamsSource(table),
    tableName: table.tableName,
    settings: DEFAULT_MAPPING_SETTINGS,
    onFailure: failures.destination(),
    logLevel: 'INFO',
    logRetention: logs.RetentionDays.ONE_MONTH,
  });
  const alarms = new FanoutAlarms(stack);
  events.addAlarms(alarms, 300);
  return { app, stack, events, alarms };
}

const fnOf = (template: Template) => {
  const fns = template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'domain-events' } } } });
  expect(Object.keys(fns)).toHaveLength(1);
  return { id: Object.keys(fns)[0]!, fn: Object.values(fns)[0] as Resource };
};

describe('DomainEvents construct', () => {
  const { stack, events, alarms } = build();
  const template = Template.fromStack(stack);

  it('creates a bus and a function configured for it (source, table, row kinds, no personal attributes, the size limit)', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0]!;
    expect(fnOf(template).fn.Properties.Environment.Variables).toMatchObject({
      EVENT_BUS_NAME: { 'Fn::GetAtt': [busId, 'Arn'] },
      EVENT_SOURCE: 'stream-fanout',
      TABLE_NAME: { Ref: expect.stringMatching(/^Table/) },
      EVENT_ROW_KINDS: 'faa-registration,foreign-registration,aircraft-image,icao-aircraft-type,icao-manufacturer,icao-variant,faa-link',
      EVENTS_INCLUDE_SENSITIVE: 'false',
      EVENTS_MAX_REQUEST_BYTES: '1000000',
    });
    expect(events.rowKinds).toHaveLength(7);
  });

  it('reads the table stream with the fan-out\'s mapping settings and the row kinds\' filters (at most 5)', () => {
    const filters = rowKindFilters(events.rowKinds);
    expect(filters.length).toBeLessThanOrEqual(MAX_FILTERS_PER_MAPPING);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnOf(template).id },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Table'), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: DEFAULT_MAPPING_SETTINGS.batchSize,
      MaximumBatchingWindowInSeconds: DEFAULT_MAPPING_SETTINGS.maxBatchingWindowSeconds,
      MaximumRetryAttempts: DEFAULT_MAPPING_SETTINGS.retryAttempts,
      MaximumRecordAgeInSeconds: DEFAULT_MAPPING_SETTINGS.maxRecordAgeSeconds,
      BisectBatchOnFunctionError: true,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FailuresBucket'), 'Arn'] } } },
      FilterCriteria: { Filters: filters.map((f) => ({ Pattern: JSON.stringify(f) })) },
    });
  });

  it('may PutEvents on its bus and nothing else of EventBridge: no wildcard but ListStreams, which has no resource-level permission', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^EventsDomainEventsRole') }] } })) as Resource[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0]!;
    const eventsStatements = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('events:')));
    expect(eventsStatements).toEqual([{ Action: 'events:PutEvents', Effect: 'Allow', Resource: { 'Fn::GetAtt': [busId, 'Arn'] } }]);
    for (const s of statements) {
      const actions = [s.Action].flat();
      if (JSON.stringify(s.Resource) === '"*"') expect(actions).toEqual(['dynamodb:ListStreams']);
      for (const action of actions) expect(action).not.toContain('*');
    }
  });

  it('alarms on iterator age, errors, lost failure records, and events or calls EventBridge refused for good', () => {
    const names = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    expect(names).toHaveLength(5);
    for (const id of ['DomainEventsIteratorAgeAlarm', 'DomainEventsErrorsAlarm', 'DomainEventsDestinationDeliveryFailuresAlarm', 'DomainEventsRejectedFailuresAlarm', 'DomainEventsFatalFailuresAlarm']) {
      expect(names.some((n) => n.startsWith(id))).toBe(true);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IteratorAge', Threshold: 300_000, EvaluationPeriods: 5, Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnOf(template).id } }] });
    const failures = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Failures', Namespace: 'StreamFanout' } })) as Resource[];
    expect(failures.map((a) => Object.fromEntries(a.Properties.Dimensions.map((d: { Name: string; Value: string }) => [d.Name, d.Value])))).toEqual([
      { service: 'domain-events', kind: 'rejected' },
      { service: 'domain-events', kind: 'fatal' },
    ]);
  });

  it('every alarm has its runbook row naming the metric it watches (and the Failures kind)', () => {
    const runbook = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
    const section = runbook.slice(runbook.indexOf('## When an alarm fires'), runbook.indexOf('\n## ', runbook.indexOf('## When an alarm fires') + 1));
    const rows = section.split('\n').filter((l) => l.startsWith('| `')).map((l) => ({ name: /`([^`]+)`/.exec(l)![1]!, means: l.split(' | ')[1]! }));
    const rowFor = (id: string) => rows.find((r) => r.name === id) ?? rows.find((r) => r.name.startsWith('<Function>') && id.endsWith(r.name.slice('<Function>'.length)));
    const resources = template.toJSON().Resources as Record<string, Resource>;
    for (const alarm of alarms.alarms) {
      const { MetricName, Dimensions = [] } = resources[stack.getLogicalId(alarm.node.defaultChild as CfnElement)]!.Properties;
      const row = rowFor(alarm.node.id);
      expect({ id: alarm.node.id, row: row?.name }).toEqual({ id: alarm.node.id, row: expect.any(String) });
      expect(row!.means).toContain(`\`${MetricName}\``);
      const kind = (Dimensions as { Name: string; Value: string }[]).find((d) => d.Name === 'kind');
      if (kind) expect(row!.means).toContain(`\`${kind.Value}\``);
    }
  });

  it('synthesises with no unacknowledged cdk-nag finding (AwsSolutions, Serverless)', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'nag-events-'));
    try {
      const app = new App({ outdir, context: testContext() });
      build({}, app);
      addNagPacks(app);
      const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      let error: unknown;
      try {
        app.synth();
      } catch (e) {
        error = e;
      } finally {
        log.mockRestore();
      }
      const reportFile = join(outdir, 'validation-report.json');
      const report = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
      const violations = report.pluginReports.flatMap((p: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }) => p.violations);
      expect(violations.map((v: { ruleName: string; violatingConstructs: { constructPath: string }[] }) => `${v.ruleName} ${v.violatingConstructs.map((c) => c.constructPath).join(',')}`).filter((v: string) => v.includes('/Events/'))).toEqual([]);
      expect(error === undefined || !String(error).includes('/Events/')).toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('DomainEvents options', () => {
  it('takes an existing bus by ARN: no bus created, PutEvents on exactly that ARN', () => {
    const arn = 'arn:aws:events:eu-west-1:210987654321:event-bus/shared-domain-events';
    const template = Template.fromStack(build({ eventBusArn: arn }).stack);
    template.resourceCountIs('AWS::Events::EventBus', 0);
    expect(fnOf(template).fn.Properties.Environment.Variables.EVENT_BUS_NAME).toBe(arn);
    template.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: Match.arrayWith([{ Action: 'events:PutEvents', Effect: 'Allow', Resource: arn }]) } });
  });

  it('names the bus, sets the source, narrows the row kinds (and the filters), includes personal attributes when asked', () => {
    const { stack } = build({ eventBusName: 'aircraft-events', eventSource: 'team.aircraft', rowKinds: ['aircraft-image', 'faa-link'], includeSensitive: true, maxRequestBytes: 262_144 });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'aircraft-events' });
    expect(fnOf(template).fn.Properties.Environment.Variables).toMatchObject({ EVENT_SOURCE: 'team.aircraft', EVENT_ROW_KINDS: 'aircraft-image,faa-link', EVENTS_INCLUDE_SENSITIVE: 'true', EVENTS_MAX_REQUEST_BYTES: '262144' });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FilterCriteria: { Filters: rowKindFilters(['aircraft-image', 'faa-link']).map((f) => ({ Pattern: JSON.stringify(f) })) } });
  });

  it.each([
    [{ eventBusArn: 'arn:aws:sns:eu-west-1:123456789012:topic' }, /eventBusArn must be an event bus ARN/],
    [{ eventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/b', eventBusName: 'b' }, /not both/],
    [{ eventSource: 'aws.dynamodb' }, /domainEvents.eventSource: .*reserves for AWS services/],
    [{ rowKinds: ['registration' as never] }, /domainEvents.rowKinds: unknown row kind "registration"/],
    [{ rowKinds: [] }, /rowKinds is empty/],
    [{ maxRequestBytes: 2_000_000 }, /domainEvents.maxRequestBytes: .*from 8192 to 1000000/],
  ])('a bad option is a ConfigError naming it (%#)', (options, message) => {
    expect(() => build(options as DomainEventsOptions)).toThrow(ConfigError);
    expect(() => build(options as DomainEventsOptions)).toThrow(message);
  });
});

describe('off by default', () => {
  it('the fan-out without the option has no bus, no domain-events function and no PutEvents grant', () => {
    const { template } = synthStack();
    template.resourceCountIs('AWS::Events::EventBus', 0);
    expect(Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'domain-events' } } } }))).toEqual([]);
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('events:PutEvents');
  });
});
