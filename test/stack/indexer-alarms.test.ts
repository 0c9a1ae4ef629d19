import { Logger } from '@aws-lambda-powertools/logger';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createMetrics, classified, FAILURE_KINDS, type FailureKind } from '../../lambda/shared/metrics';
import { createIndexerHandler } from '../../lambda/typesense-indexer/handler';
import type { SearchPort } from '../../lambda/typesense-indexer/search';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { sqsRecord, triggerBody } from '../typesense-indexer/support';
import { synthStack } from './synth';

/**
 * A CloudWatch alarm watches one metric: namespace, name and the exact set of dimensions. An
 * alarm on Failures with {service} alone, or with another namespace, watches a metric no one
 * publishes and never fires. So the alarms' metrics are derived here from what the real
 * indexer handler prints, under the environment the template gives the function, when a
 * document fails with each kind the alarms are for.
 */
type Alarm = { Namespace?: string; MetricName?: string; Dimensions?: Array<{ Name: string; Value: unknown }>; Statistic?: string; Threshold: number; ComparisonOperator: string };
type Emf = { namespace: string; dimensionSets: string[][]; metrics: string[]; line: Record<string, unknown> };

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ts-AbCdEf';
const row = { PK: 'ICAO#AIRCRAFT', SK: 'TYPE#A320', type_designator: 'A320', manufacturer: 'AIRBUS', model: 'A320' };

/** Runs `fn` with stdout captured (where Powertools Metrics writes) and returns the EMF lines written meanwhile. */
async function emfLines<T>(fn: () => Promise<T>): Promise<{ result: T; lines: Emf[] }> {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write);
  let result: T;
  try {
    result = await fn();
  } finally {
    spy.mockRestore();
  }
  const lines = written
    .join('')
    .split('\n')
    .flatMap((text) => {
      try {
        const line = JSON.parse(text);
        const directive = line?._aws?.CloudWatchMetrics?.[0];
        return directive ? [{ namespace: directive.Namespace, dimensionSets: directive.Dimensions, metrics: directive.Metrics.map((m: { Name: string }) => m.Name), line }] : [];
      } catch {
        return [];
      }
    });
  return { result, lines };
}

describe("the indexer's Failures alarms watch exactly the metric its handler publishes", () => {
  const { template } = synthStack({ indexer: { typesenseNodes: ['https://search.example.com'], typesenseApiKeySecretArn: SECRET } });
  const [indexerFn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'typesense-indexer' } } } })) as any[];
  const environment: Record<string, string> = indexerFn.Properties.Environment.Variables;
  const failureAlarms = (Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Array<{ Properties: Alarm }>).map((a) => a.Properties).filter((a) => a.MetricName === 'Failures');
  const ENV_KEYS = ['POWERTOOLS_METRICS_DISABLED', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'] as const;
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  let table: TestTable;

  beforeAll(async () => {
    table = await createTestTable('alarm-dims');
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: row }));
    // As deployed: the namespace and service the template sets; metrics on (the test setup turns them off).
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    process.env.POWERTOOLS_METRICS_NAMESPACE = environment.POWERTOOLS_METRICS_NAMESPACE;
    process.env.POWERTOOLS_SERVICE_NAME = environment.POWERTOOLS_SERVICE_NAME;
  });
  afterAll(async () => {
    for (const key of ENV_KEYS) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    await table.drop();
  });

  it('alarms on Failures exist for throttled and fatal only (rejected and decode messages reach the DLQ and its alarm)', () => {
    const kinds = failureAlarms.map((a) => a.Dimensions?.find((d) => d.Name === 'kind')?.Value);
    expect(kinds.sort()).toEqual(['fatal', 'throttled']);
    expect(FAILURE_KINDS).toEqual(expect.arrayContaining(kinds));
  });

  it.each<FailureKind>(['throttled', 'fatal'])('a document failing as %s: the invocation succeeds (Errors stays 0) and the alarm for that kind sees the line', async (kind) => {
    // Typesense answers the import with an error of this kind (the boundary's classification).
    const search: SearchPort = {
      importUpsert: async () => {
        throw classified(new Error(`import failed (${kind})`), kind);
      },
      deleteDocument: async () => 'missing',
      createCollection: async () => undefined,
    };
    const handler = createIndexerHandler({
      ddb: table.client,
      tableName: table.tableName,
      search,
      logger: new Logger({ serviceName: 'typesense-indexer', logLevel: 'SILENT' }),
      metrics: createMetrics('typesense-indexer'),
    });
    const message = sqsRecord(triggerBody(row));
    const { result, lines } = await emfLines(() => handler({ Records: [message] }));
    // A partial batch response, not a thrown error: Lambda's Errors metric does not move.
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: message.messageId }] });

    const failures = lines.filter((l) => l.metrics.includes('Failures'));
    expect(failures).toHaveLength(1);
    const [emf] = failures;
    const published = emf!.dimensionSets.map((names) => names.map((name) => ({ Name: name, Value: emf!.line[name] })).sort((a, b) => a.Name.localeCompare(b.Name)));
    const watching = failureAlarms.filter(
      (a) => a.Namespace === emf!.namespace && published.some((dims) => JSON.stringify(dims) === JSON.stringify([...(a.Dimensions ?? [])].sort((x, y) => x.Name.localeCompare(y.Name)))),
    );
    expect(watching).toHaveLength(1);
    // The line's value (one failed document) reaches the alarm's threshold.
    expect(watching[0]).toMatchObject({ Statistic: 'Sum', ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(emf!.line.Failures).toBeGreaterThanOrEqual(watching[0]!.Threshold);
  });
});
