import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { COUNT_METRICS, METRIC_PUBLISHERS } from '../lambda/shared/metric-names';
import { freshnessMetric } from './alarms';
import { METRICS_NAMESPACE, type StreamFunction } from './stream-function';

/** The handlers' custom metrics (Powertools Metrics, dimension `service` = function name). */
export const CUSTOM_METRICS = [...COUNT_METRICS, 'Failures'] as const;

export interface FanoutDashboardProps {
  /** Functions by name (POWERTOOLS_SERVICE_NAME); stream functions have an iterator age. */
  readonly functions: Readonly<Record<string, StreamFunction>>;
  readonly streamFunctions: readonly string[];
  /** Mapping ids by function name: Lambda's event counts per mapping (polled, filtered out, invoked, failed, dropped). */
  readonly mappingIds?: Readonly<Record<string, string>>;
  readonly failureObjects: cloudwatch.Metric;
  readonly searchQueue: sqs.IQueue;
  readonly searchDlq: sqs.IQueue;
  readonly dashboardName?: string;
}

const PERIOD = Duration.minutes(1);

/** One dashboard: lag, errors and duration per function, failures kept, the search queue, the custom metrics. */
export class FanoutDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: FanoutDashboardProps) {
    super(scope, id);
    const names = Object.keys(props.functions);
    const per = (title: string, metric: (fn: StreamFunction, name: string) => cloudwatch.IMetric, only = names) =>
      new cloudwatch.GraphWidget({ title, width: 8, left: only.map((name) => metric(props.functions[name]!, name)) });
    // Each counter only for the functions that publish it; a counter none of them publishes
    // here (the indexer's, without the indexer) gets no widget.
    const publishers = (metricName: (typeof CUSTOM_METRICS)[number]) =>
      metricName === 'Failures' ? names : names.filter((name) => METRIC_PUBLISHERS[metricName].includes(name));
    const custom = (metricName: (typeof CUSTOM_METRICS)[number]) =>
      new cloudwatch.GraphWidget({
        title: metricName,
        width: 6,
        left: publishers(metricName).map(
          (name) =>
            // Failures carries a `kind` dimension too: SEARCH sums it over every kind.
            metricName === 'Failures'
              ? new cloudwatch.MathExpression({
                  label: name,
                  expression: `SUM(SEARCH('{${METRICS_NAMESPACE},kind,service} MetricName="Failures" service="${name}"', 'Sum', 60))`,
                  period: PERIOD,
                })
              : new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: name }, statistic: 'Sum', period: PERIOD, label: name }),
        ),
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName && { dashboardName: props.dashboardName }),
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          per('Iterator age (max, ms)', (fn, label) => fn.function.metric('IteratorAge', { statistic: 'Maximum', period: PERIOD, label }), [...props.streamFunctions]),
          per('Errors', (fn, label) => fn.function.metricErrors({ period: PERIOD, label })),
          per('Duration (p99, ms)', (fn, label) => fn.function.metricDuration({ statistic: 'p99', period: PERIOD, label })),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Stream failure objects (S3)', width: 8, left: [props.failureObjects.with({ label: 'objects written' })] }),
          new cloudwatch.GraphWidget({
            title: 'Search queue',
            width: 8,
            left: [props.searchQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, label: 'visible' })],
            right: [props.searchQueue.metricApproximateAgeOfOldestMessage({ period: PERIOD, label: 'oldest (s)' })],
          }),
          new cloudwatch.GraphWidget({
            title: 'Search DLQ visible',
            width: 8,
            left: [props.searchDlq.metricApproximateNumberOfMessagesVisible({ period: PERIOD, label: 'dead-lettered' })],
          }),
        ],
        CUSTOM_METRICS.filter((metric) => publishers(metric).length > 0).map(custom),
        [
          // Freshness of every function that applies changes (the indexer's is end to end).
          ...(['p50', 'p99'] as const).map(
            (statistic) => new cloudwatch.GraphWidget({ title: `ChangeToAppliedMs (${statistic})`, width: 8, left: names.map((name) => freshnessMetric(name, statistic, PERIOD).with({ label: name })) }),
          ),
          new cloudwatch.GraphWidget({
            title: 'Mapping events (filtered out / invoked)',
            width: 8,
            left: Object.entries(props.mappingIds ?? {}).flatMap(([name, uuid]) =>
              (['FilteredOutEventCount', 'InvokedEventCount'] as const).map(
                (metricName) => new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName, dimensionsMap: { EventSourceMappingUUID: uuid }, statistic: 'Sum', period: PERIOD, label: `${name} ${metricName.replace('EventCount', '')}` }),
              ),
            ),
          }),
        ],
      ],
    });
  }
}
