import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { FRESHNESS_METRIC, type FailureKind } from '../lambda/shared/metric-names';
import { pascalId } from './construct-ids';
import { METRICS_NAMESPACE, type StreamFunction } from './stream-function';

/** Period of the count alarms (errors, delivery failures, Failures): one datapoint is one alarm. */
const COUNT_PERIOD = Duration.minutes(5);

/**
 * The Failures metric of one function and kind exactly as MetricTally publishes it: namespace
 * METRICS_NAMESPACE, dimensions `service` (POWERTOOLS_SERVICE_NAME, the function's name) and
 * `kind`. CloudWatch matches a metric by its full dimension set, so an alarm without `kind`
 * (or with any other dimension) would watch a metric nothing publishes and never fire.
 */
export function failuresMetric(service: string, kind: FailureKind, period: Duration = COUNT_PERIOD): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: 'Failures', dimensionsMap: { service, kind }, statistic: 'Sum', period });
}

/** ChangeToAppliedMs of one function as MetricTally publishes it (namespace, dimension `service`), at a percentile. */
export function freshnessMetric(service: string, statistic: 'p50' | 'p99', period: Duration = COUNT_PERIOD): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: FRESHNESS_METRIC, dimensionsMap: { service }, statistic, period });
}

export interface AlarmOptions {
  readonly threshold: number;
  /** Default 1. */
  readonly evaluationPeriods?: number;
  /** Default: at or above the threshold. */
  readonly comparisonOperator?: cloudwatch.ComparisonOperator;
}

/**
 * The fan-out's alarms, all in one scope (their construct ids are the alarm names the runbook
 * uses), each notifying the optional action; missing data is not breaching. The per-function
 * helpers give every function of a kind the same alarms, named after the function's id
 * (`<Id>IteratorAgeAlarm`, ...), so a function added later is one call.
 */
export class FanoutAlarms {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(
    private readonly scope: Construct,
    private readonly action?: cloudwatch.IAlarmAction,
  ) {}

  add(id: string, description: string, metric: cloudwatch.IMetric, options: AlarmOptions): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this.scope, id, {
      alarmDescription: description,
      metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      comparisonOperator: options.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (this.action) alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  /** A function on a table-change mapping: its lag, its failed invocations, and failure records lost on the way to the bucket. */
  streamFunction(id: string, fn: StreamFunction, iteratorAgeSeconds: number): void {
    this.iteratorAge(id, fn, iteratorAgeSeconds);
    this.errors(id, fn, `${id} invocations failed (batches are being retried)`);
    this.destinationDeliveryFailures(id, fn);
  }

  /** The mapping's oldest record, five minutes in a row more than `seconds` behind. */
  iteratorAge(id: string, fn: StreamFunction, seconds: number): cloudwatch.Alarm {
    return this.add(`${id}IteratorAgeAlarm`, `${id} is more than ${seconds}s behind the table stream`, fn.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }), {
      threshold: seconds * 1000,
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
  }

  /** Invocations that threw (Lambda's Errors): a batch failed whole, or the function could not start. */
  errors(id: string, fn: StreamFunction, description: string): cloudwatch.Alarm {
    return this.add(`${id}ErrorsAlarm`, description, fn.function.metricErrors({ period: COUNT_PERIOD }), { threshold: 1 });
  }

  /**
   * Lambda gave up on a batch and could not write its record to the on-failure destination
   * (DestinationDeliveryFailures): nothing else shows such a loss, since the failure bucket's
   * own alarm counts only the objects that arrived.
   */
  destinationDeliveryFailures(id: string, fn: StreamFunction): cloudwatch.Alarm {
    return this.add(
      `${id}DestinationDeliveryFailuresAlarm`,
      `${id}: Lambda discarded a batch and could not write it to the failure bucket (the records are not there: repair with ops audit --repair)`,
      fn.function.metric('DestinationDeliveryFailures', { statistic: 'Sum', period: COUNT_PERIOD }),
      { threshold: 1 },
    );
  }

  /**
   * The function's p99 ChangeToAppliedMs (see freshnessMetric) above `seconds` for three
   * 5-minute periods: changes take effect late even if nothing fails (throttled reads, a slow
   * downstream, a backlog after an outage).
   */
  freshness(id: string, service: string, seconds: number): cloudwatch.Alarm {
    return this.add(`${id}FreshnessAlarm`, `${id}: the p99 time from a change in the table to its effect is above ${seconds}s`, freshnessMetric(service, 'p99'), {
      threshold: seconds * 1000,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
  }

  /** A function's own Failures of one kind (see failuresMetric). */
  failures(id: string, service: string, kind: FailureKind, description: string): cloudwatch.Alarm {
    return this.add(`${id}${pascalId(kind)}FailuresAlarm`, description, failuresMetric(service, kind), { threshold: 1 });
  }
}
