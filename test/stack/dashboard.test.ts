import { synthStack } from './synth';

/** The dashboard body as CloudFormation gets it (Fn::Join of strings and tokens), flattened to text. */
function dashboardBody(template: ReturnType<typeof synthStack>['template']): string {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Array<{ Properties: { DashboardBody: unknown } }>;
  const flatten = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) ? v.map(flatten).join('') : v && typeof v === 'object' ? `{${Object.entries(v).map(([k, x]) => `${k}:${flatten(x)}`).join(',')}}` : String(v));
  return flatten(dashboard!.Properties.DashboardBody);
}

describe('dashboard', () => {
  const { template, stack } = synthStack({ auditTrail: true, domainEvents: true, indexer: { typesenseNodes: ['https://search.example.com'], typesenseApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ts-AbCdEf' } });
  const body = dashboardBody(template);

  it('graphs ChangeToAppliedMs at p50 and p99 for every function, the indexer and the edge subsystems included', () => {
    for (const statistic of ['p50', 'p99']) expect(body).toContain(`"title":"ChangeToAppliedMs (${statistic})"`);
    for (const service of ['typesense-sync', 'image-sync', 'faa-matcher-sync', 'typesense-indexer', 'audit-trail', 'domain-events']) {
      expect(body).toContain(`["StreamFanout","ChangeToAppliedMs","service","${service}"`);
    }
  });

  it("graphs Lambda's event counts (filtered out, invoked) of every mapping by its id", () => {
    expect(Object.keys(stack.fanout.mappingIds).sort()).toEqual(['audit-trail', 'domain-events', 'faa-matcher-sync', 'image-sync', 'typesense-sync']);
    for (const metric of ['FilteredOutEventCount', 'InvokedEventCount']) {
      const graphed = body.split(`["AWS/Lambda","${metric}","EventSourceMappingUUID",`).length - 1;
      expect(graphed).toBe(5);
    }
  });
});
