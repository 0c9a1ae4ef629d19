/**
 * The AuditTrail construct, synthesised in a test stack: its function and mapping (the fan-out's
 * mapping settings, at most five filters from the row kinds' key rules), the history table and
 * its key, and IAM exactly what the handler sends (recorded against DynamoDB Local, KMS mocked).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createAuditHandler } from '../../lambda/audit-trail/handler';
import { kmsDataKeySource } from '../../lambda/audit-trail/kms-keys';
import { secretHashKey } from '../../lambda/audit-trail/secret-hash-key';
import { encryptProtection, hashProtection } from '../../lambda/audit-trail/sensitive';
import { rowKindFilters } from '../../lambda/shared/row-kinds';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addNagPacks } from '../../bin/nag';
import { FanoutAlarms } from '../../lib/alarms';
import { AuditTrail, type AuditTrailOptions } from '../../lib/audit-trail';
import { FailureBucket } from '../../lib/failure-bucket';
import { DEFAULT_MAPPING_SETTINGS } from '../../lib/mapping-settings';
import { DynamoStreamsSource } from '../../lib/sources/dynamodb-streams';
import { localClientConfig } from '../../local/dynamodb-local';
import { createHistoryTable, registryRow, type HistoryTable } from '../audit-trail/support';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { synthStack, testContext } from './synth';

const STREAM_READS = /^dynamodb:(DescribeStream|GetRecords|GetShardIterator|ListStreams)$/;

/** The construct in a test stack beside a source table and a failure bucket (not synthesised). */
function buildTrail(app: App, options: AuditTrailOptions = {}, extra: (stack: Stack) => AuditTrailOptions = () => ({})) {
  const stack = new Stack(app, 'TrailStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const table = new dynamodb.Table(stack, 'Source', {
    partitionKey: { name: 'PK', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'SK', type: dynamodb.AttributeType.STRING },
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
  });
  const failures = new FailureBucket(stack, 'Failures', { retentionDays: 90 });
  const trail = new AuditTrail(stack, 'AuditTrail', {
    source: new DynamoStreamsSource(table),
    settings: DEFAULT_MAPPING_SETTINGS,
    onFailure: failures.destination(),
    logLevel: 'INFO',
    logRetention: logs.RetentionDays.ONE_MONTH,
    ...options,
    ...extra(stack),
  });
  return { stack, trail };
}

function synthTrail(options: AuditTrailOptions = {}, extra: (stack: Stack) => AuditTrailOptions = () => ({}), then: (stack: Stack, trail: AuditTrail) => void = () => undefined) {
  const { stack, trail } = buildTrail(new App({ context: testContext() }), options, extra);
  then(stack, trail);
  return { stack, trail, template: Template.fromStack(stack) };
}

/** The statements of the audit-trail function's role. */
function roleStatements(template: Template): any[] {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'audit-trail' } } } })) as any[];
  const role = fn.Properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } })).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

const logicalId = (template: Template, type: string) => {
  const ids = Object.keys(template.findResources(type));
  expect(ids).toHaveLength(1);
  return ids[0]!;
};

describe('AuditTrail construct', () => {
  it('is off by default: the fan-out stack has no audit-trail function', () => {
    const { template } = synthStack();
    expect(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'audit-trail' } } } })).toEqual({});
  });

  it('creates the function with its settings, and its mapping with the fan-out\'s settings and the row kinds\' filters', () => {
    const { template } = synthTrail();
    const key = logicalId(template, 'AWS::KMS::Key');
    const history = Object.keys(template.findResources('AWS::DynamoDB::Table', { Properties: { TimeToLiveSpecification: Match.anyValue() } }))[0]!;
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'audit-trail',
          HISTORY_TABLE_NAME: { Ref: history },
          AUDIT_SENSITIVE: 'encrypt',
          AUDIT_KMS_KEY_ID: { 'Fn::GetAtt': [key, 'Arn'] },
          AUDIT_ROW_KINDS: 'faa-registration,foreign-registration,aircraft-image,icao-aircraft-type,icao-manufacturer,icao-variant,faa-link',
          AUDIT_RETENTION_DAYS: '90',
          CHANGE_SOURCE: 'dynamodb-streams',
        }),
      },
    });
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as any[];
    expect(mappings).toHaveLength(1);
    const m = mappings[0].Properties;
    expect(m).toMatchObject({
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: DEFAULT_MAPPING_SETTINGS.retryAttempts,
      MaximumRecordAgeInSeconds: DEFAULT_MAPPING_SETTINGS.maxRecordAgeSeconds,
      BatchSize: DEFAULT_MAPPING_SETTINGS.batchSize,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(template, 'AWS::S3::Bucket'), 'Arn'] } } },
    });
    const filters = m.FilterCriteria.Filters.map((f: { Pattern: string }) => JSON.parse(f.Pattern));
    expect(filters.length).toBeLessThanOrEqual(5);
    expect(filters).toEqual(JSON.parse(JSON.stringify(rowKindFilters())));
  });

  it('creates the history table (PK/SK strings, on-demand, TTL, point-in-time recovery, no stream, retained) and a rotating key', () => {
    const { template } = synthTrail();
    const tables = template.findResources('AWS::DynamoDB::Table', { Properties: { TimeToLiveSpecification: Match.anyValue() } });
    const [history] = Object.values(tables) as any[];
    expect(history.DeletionPolicy).toBe('Retain');
    expect(history.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'PK', KeyType: 'HASH' }, { AttributeName: 'SK', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'PK', AttributeType: 'S' }, { AttributeName: 'SK', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(history.Properties.StreamSpecification).toBeUndefined();
    template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain' });
  });

  it('IAM: PutItem on the history table, GenerateDataKey on the key under the trail\'s context; no Decrypt, no wildcard', () => {
    const { template } = synthTrail();
    const statements = roleStatements(template);
    const own = statements.filter((s) => ![s.Action].flat().every((a: string) => STREAM_READS.test(a) || a.startsWith('logs:') || a.startsWith('s3:')));
    const key = logicalId(template, 'AWS::KMS::Key');
    const history = Object.keys(template.findResources('AWS::DynamoDB::Table', { Properties: { TimeToLiveSpecification: Match.anyValue() } }))[0]!;
    expect(own).toEqual([
      { Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [history, 'Arn'] } },
      { Action: 'kms:GenerateDataKey', Effect: 'Allow', Resource: { 'Fn::GetAtt': [key, 'Arn'] }, Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'ddb-stream-fanout/audit-trail' } } },
    ]);
    const all = JSON.stringify(statements);
    expect(all).not.toMatch(/kms:Decrypt|kms:\*|dynamodb:\*|"Action":"[a-z0-9]+:[A-Za-z]*\*"/);
    // The only resource wildcard is the event source's ListStreams (no resource-level permission).
    for (const s of statements.filter((s) => s.Resource === '*')) expect(s.Action).toBe('dynamodb:ListStreams');
  });

  it('hash mode: a generated secret and GetSecretValue on it, no KMS key', () => {
    const { template } = synthTrail({ sensitiveFields: 'hash' });
    template.resourceCountIs('AWS::KMS::Key', 0);
    const secret = logicalId(template, 'AWS::SecretsManager::Secret');
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ AUDIT_SENSITIVE: 'hash', AUDIT_HASH_SECRET_ARN: { Ref: secret } }) } });
    const own = roleStatements(template).filter((s) => /^(secretsmanager|kms):/.test([s.Action].flat()[0]));
    expect(own).toEqual([{ Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: { Ref: secret } }]);
  });

  it('takes a given history table and key; narrows to given row kinds; retention is an option', () => {
    const { template } = synthTrail({ rowKinds: ['faa-link', 'icao-variant'], retentionDays: 30 }, (stack) => ({
      historyTable: dynamodb.Table.fromTableName(stack, 'Given', 'existing-history'),
      kmsKey: kms.Key.fromKeyArn(stack, 'GivenKey', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
    }));
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table'))).toHaveLength(1); // the source table only
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ HISTORY_TABLE_NAME: 'existing-history', AUDIT_ROW_KINDS: 'faa-link,icao-variant', AUDIT_RETENTION_DAYS: '30', AUDIT_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }) },
    });
    const [m] = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as any[];
    expect(m.Properties.FilterCriteria.Filters.map((f: { Pattern: string }) => JSON.parse(f.Pattern))).toEqual(JSON.parse(JSON.stringify(rowKindFilters(['faa-link', 'icao-variant']))));
  });

  it('alarms: iterator age, errors, lost failure records, fatal failures; each has its runbook row naming its metric', () => {
    let alarms: FanoutAlarms | undefined;
    const { template } = synthTrail({}, () => ({}), (stack, trail) => {
      alarms = new FanoutAlarms(stack);
      trail.addAlarms(alarms, 300);
    });
    const ids = alarms!.alarms.map((a) => a.node.id);
    expect(ids).toEqual(['AuditTrailIteratorAgeAlarm', 'AuditTrailErrorsAlarm', 'AuditTrailDestinationDeliveryFailuresAlarm', 'AuditTrailFatalFailuresAlarm']);
    const failures = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Failures', Namespace: 'StreamFanout' } })) as any[];
    expect(failures.map((a) => [...a.Properties.Dimensions].sort((x: { Name: string }, y: { Name: string }) => x.Name.localeCompare(y.Name)))).toEqual([[{ Name: 'kind', Value: 'fatal' }, { Name: 'service', Value: 'audit-trail' }]]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IteratorAge', Threshold: 300_000 });
    const runbook = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
    const rows = runbook.split('\n').filter((l) => l.startsWith('| `'));
    const rowOf = (id: string) => rows.find((l) => l.startsWith(`| \`${id}\``)) ?? rows.find((l) => l.startsWith(`| \`<Function>${id.slice('AuditTrail'.length)}\``));
    const metrics: Record<string, string> = { AuditTrailIteratorAgeAlarm: 'IteratorAge', AuditTrailErrorsAlarm: 'Errors', AuditTrailDestinationDeliveryFailuresAlarm: 'DestinationDeliveryFailures', AuditTrailFatalFailuresAlarm: 'Failures' };
    for (const id of ids) expect({ id, names: rowOf(id)?.includes(`\`${metrics[id]}\``) }).toEqual({ id, names: true });
    expect(rowOf('AuditTrailFatalFailuresAlarm')).toContain('`fatal`');
  });

  it.each([['encrypt' as const], ['hash' as const]])('cdk-nag AwsSolutions and Serverless: no unacknowledged finding on what it creates (%s)', (sensitiveFields) => {
    const outdir = mkdtempSync(join(tmpdir(), 'nag-trail-'));
    try {
      const app = new App({ outdir, context: testContext() });
      buildTrail(app, { sensitiveFields });
      addNagPacks(app);
      const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        app.synth();
      } catch {
        // An error-level finding fails synth; the report below names it.
      } finally {
        log.mockRestore();
      }
      const reportFile = join(outdir, 'validation-report.json');
      const report = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
      const violations = report.pluginReports
        .flatMap((p: { violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }> }) => p.violations)
        .flatMap((v: { ruleName: string; violatingConstructs: Array<{ constructPath: string }> }) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`))
        // The test stack's own source table and failure bucket are not the construct's.
        .filter((line: string) => line.includes('/AuditTrail/'));
      expect(violations).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ sensitiveFields: 'hash' as const }, (stack: Stack) => ({ kmsKey: kms.Key.fromKeyArn(stack, 'K', 'arn:aws:kms:eu-west-1:123456789012:key/x') }), /kmsKey is for sensitiveFields encrypt/],
    [{ retentionDays: 0 }, () => ({}), /auditTrail.retentionDays/],
    [{ rowKinds: ['pointers' as never] }, () => ({}), /auditTrail.rowKinds: unknown row kind "pointers"/],
  ])('refuses inconsistent options at synth (%#)', (options, extra, message) => {
    expect(() => synthTrail(options, extra)).toThrow(message);
  });
});

describe('AuditTrail IAM: exactly what the handler sends', () => {
  let table: HistoryTable;
  beforeAll(async () => (table = await createHistoryTable()));
  afterAll(() => table.drop());

  /** IAM actions the handler's requests need: DynamoDB through a middleware, KMS and Secrets Manager through their mocks. */
  async function usedActions(hash: boolean): Promise<string[]> {
    const used = new Set<string>();
    const client = new DynamoDBClient(localClientConfig(table.endpoint));
    client.middlewareStack.add(
      (next, context) => async (args) => {
        used.add(`dynamodb:${String(context.commandName).replace(/Command$/, '')}`);
        return next(args);
      },
      { step: 'build', name: 'recordIamActions' },
    );
    const kmsMock = mockClient(KMSClient);
    const secretsMock = mockClient(SecretsManagerClient);
    kmsMock.on(GenerateDataKeyCommand).resolves({ KeyId: 'arn:aws:kms:eu-west-1:123456789012:key/k', Plaintext: new Uint8Array(32), CiphertextBlob: new Uint8Array(8) });
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'h'.repeat(64) });
    try {
      const handler = createAuditHandler({
        doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
        historyTableName: table.tableName,
        logger: new Logger({ serviceName: 'audit-trail', logLevel: 'SILENT' }),
        protection: hash ? hashProtection(secretHashKey(new SecretsManagerClient({ region: 'eu-west-1' }), 'secret')) : encryptProtection(kmsDataKeySource(new KMSClient({ region: 'eu-west-1' }), 'key')),
      });
      const a = registryRow(hash ? 'N901' : 'N900');
      const b = { ...a, status: 'D' };
      // Insert, modify, remove, and a duplicate (the conditional put's failed condition).
      const records = [insertRecord(a), modifyRecord(a, b), removeRecord(b)];
      expect(await handler(streamEvent(...records))).toEqual({ batchItemFailures: [] });
      expect(await handler(streamEvent(records[0]!))).toEqual({ batchItemFailures: [] });
      for (const call of kmsMock.calls()) used.add(`kms:${call.args[0].constructor.name.replace(/Command$/, '')}`);
      for (const call of secretsMock.calls()) used.add(`secretsmanager:${call.args[0].constructor.name.replace(/Command$/, '')}`);
    } finally {
      kmsMock.restore();
      secretsMock.restore();
      client.destroy();
    }
    return [...used].sort();
  }

  const granted = (template: Template) =>
    roleStatements(template)
      .flatMap((s) => [s.Action].flat() as string[])
      .filter((a) => /^(dynamodb|kms|secretsmanager):/.test(a) && !STREAM_READS.test(a))
      .sort();

  it('encrypt mode', async () => {
    expect(await usedActions(false)).toEqual(granted(synthTrail().template));
  });

  it('hash mode', async () => {
    expect(await usedActions(true)).toEqual(granted(synthTrail({ sensitiveFields: 'hash' }).template));
  });
});
