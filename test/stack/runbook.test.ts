import type { CfnElement } from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthStack } from './synth';

/**
 * The runbook (docs/operations.md, "When an alarm fires") has a row for every alarm the
 * construct creates, and the row says which metric the alarm watches: its metric name, and
 * for the functions' own Failures the kind. A row `<Function>XAlarm` stands for each function.
 */
const runbook = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
const section = runbook.slice(runbook.indexOf('## When an alarm fires'), runbook.indexOf('\n## ', runbook.indexOf('## When an alarm fires') + 1));
const rows = section
  .split('\n')
  .filter((line) => line.startsWith('| `'))
  .map((line) => {
    const [name, means] = line.split(' | ');
    return { name: /`([^`]+)`/.exec(name!)![1]!, means: means! };
  });

function rowFor(alarmId: string) {
  const exact = rows.find((r) => r.name === alarmId);
  if (exact) return exact;
  return rows.find((r) => r.name.startsWith('<Function>') && new RegExp(`^[A-Z][A-Za-z0-9]*${r.name.slice('<Function>'.length)}$`).test(alarmId));
}

describe('runbook: one row per alarm, naming what it watches', () => {
  // Every optional part on, so every alarm the construct can create is checked.
  const { stack, template } = synthStack({ indexer: { typesenseNodes: ['https://search.example.com'], typesenseApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ts-AbCdEf' }, domainEvents: true, auditTrail: true });
  const resources = template.toJSON().Resources as Record<string, { Properties: { MetricName: string; Dimensions?: Array<{ Name: string; Value: unknown }> } }>;
  const alarms = stack.fanout.alarms.map((alarm) => ({ id: alarm.node.id, resource: resources[stack.getLogicalId(alarm.node.defaultChild as CfnElement)]! }));

  it('finds the alarms and the rows', () => {
    expect(alarms.length).toBeGreaterThanOrEqual(15);
    expect(rows.length).toBeGreaterThanOrEqual(9);
  });

  it.each(stack.fanout.alarms.map((a) => a.node.id))('%s has a row naming its metric', (id) => {
    const row = rowFor(id);
    expect({ id, row: row?.name }).toEqual({ id, row: expect.any(String) });
    const { MetricName: metric, Dimensions: dimensions = [] } = alarms.find((a) => a.id === id)!.resource.Properties;
    expect(row!.means).toContain(`\`${metric}\``);
    const kind = dimensions.find((d) => d.Name === 'kind');
    if (kind) expect(row!.means).toContain(`\`${kind.Value}\``);
  });
});
