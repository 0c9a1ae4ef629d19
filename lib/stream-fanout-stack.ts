import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CONTRIBUTION_PK_PREFIX, MATCHER_TUPLE_PK_PREFIX } from '../lambda/faa-matcher-sync/keys';
import { IMAGE_PK_PREFIX } from '../lambda/image-sync/keys';
import { TABLE_SCHEMA } from '../lambda/shared/table';
import { filterPatterns, SUBSYSTEM_NAMES, type SubsystemName } from '../lambda/subsystems';
import { DEFAULT_MAPPING_SETTINGS, type StreamMappingSettings } from './mapping-settings';
import { StreamFunction } from './stream-function';

export interface StreamFanoutStackProps extends StackProps {
  /**
   * Use the platform's existing table instead of creating one. Its stream must be enabled
   * with NEW_AND_OLD_IMAGES. Default: a new table (PK/SK strings, on-demand, stream
   * NEW_AND_OLD_IMAGES, point-in-time recovery, retained when the stack is deleted).
   */
  readonly existingTable?: { readonly tableName: string; readonly tableStreamArn: string };
  /** Overrides of the event-source-mapping settings; defaults in DEFAULT_MAPPING_SETTINGS. */
  readonly mapping?: Partial<StreamMappingSettings>;
  /** SNS topic ARN that every alarm notifies. Default: alarms without actions. */
  readonly alarmTopicArn?: string;
  /** LOG_LEVEL of the functions. Default INFO. */
  readonly logLevel?: string;
  /** Retention of the functions' log groups. Default one month. */
  readonly logRetention?: logs.RetentionDays;
  /** Iterator-age alarm threshold in seconds. Default 300 (five minutes behind the stream). */
  readonly iteratorAgeAlarmSeconds?: number;
}

/**
 * Leading-key prefixes each table-writing subsystem may touch (IAM dynamodb:LeadingKeys).
 * They cover the rows the subsystem reads and writes, and nothing of the others'.
 */
export const LEADING_KEY_PREFIXES = {
  'image-sync': [IMAGE_PK_PREFIX],
  'faa-matcher-sync': [MATCHER_TUPLE_PK_PREFIX, CONTRIBUTION_PK_PREFIX],
} as const satisfies Partial<Record<SubsystemName, readonly string[]>>;

/** DynamoDB actions each table-writing subsystem uses; no wildcards. */
const TABLE_ACTIONS = {
  'image-sync': ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  'faa-matcher-sync': [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
  ],
} as const;

/** The DynamoDB-stream fan-out: one table stream, three independent mappings, the search queue, the DLQs. */
export class StreamFanoutStack extends Stack {
  readonly table: dynamodb.ITable;
  readonly searchQueue: sqs.Queue;
  readonly searchDlq: sqs.Queue;
  readonly functions: Record<SubsystemName, StreamFunction>;
  readonly streamDlqs: Record<SubsystemName, sqs.Queue>;

  constructor(scope: Construct, id: string, props: StreamFanoutStackProps = {}) {
    super(scope, id, props);
    const settings: StreamMappingSettings = { ...DEFAULT_MAPPING_SETTINGS, ...props.mapping };
    const alarmAction = props.alarmTopicArn
      ? new actions.SnsAction(sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn))
      : undefined;

    this.table = props.existingTable
      ? dynamodb.Table.fromTableAttributes(this, 'Table', props.existingTable)
      : new dynamodb.Table(this, 'Table', {
          partitionKey: { name: TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: { name: TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
          billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
          stream: dynamodb.StreamViewType[TABLE_SCHEMA.streamViewType],
          pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
          timeToLiveAttribute: TABLE_SCHEMA.timeToLiveAttribute,
          removalPolicy: RemovalPolicy.RETAIN,
        });

    // Typesense actions: FIFO so actions on one document apply in order; its own FIFO DLQ.
    this.searchDlq = new sqs.Queue(this, 'SearchActionsDlq', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.searchQueue = new sqs.Queue(this, 'SearchActionsQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO: dedup and throughput per document group.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.searchDlq, maxReceiveCount: 5 },
    });

    const environment: Record<SubsystemName, Record<string, string>> = {
      'typesense-sync': { TYPESENSE_QUEUE_URL: this.searchQueue.queueUrl },
      'image-sync': { TABLE_NAME: this.table.tableName },
      'faa-matcher-sync': { TABLE_NAME: this.table.tableName },
    };

    const functions = {} as Record<SubsystemName, StreamFunction>;
    const dlqs = {} as Record<SubsystemName, sqs.Queue>;
    for (const name of SUBSYSTEM_NAMES) {
      const id = pascal(name);
      // Lambda cannot send stream failures to a FIFO queue: these DLQs are standard and hold batch metadata.
      const dlq = new sqs.Queue(this, `${id}StreamDlq`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      Validations.of(dlq).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: "This queue is a DLQ: the stream mapping's on-failure destination, which CloudFormation does not express as a RedrivePolicy.",
      });
      const fn = new StreamFunction(this, id, {
        subsystem: name,
        environment: environment[name],
        logLevel: props.logLevel ?? 'INFO',
        logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      });
      fn.function.addEventSource(
        new DynamoEventSource(this.table, {
          startingPosition: lambda.StartingPosition[settings.startingPosition],
          batchSize: settings.batchSize,
          maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
          retryAttempts: settings.retryAttempts,
          maxRecordAge: Duration.seconds(settings.maxRecordAgeSeconds),
          bisectBatchOnError: settings.bisectBatchOnError,
          parallelizationFactor: settings.parallelizationFactor,
          reportBatchItemFailures: true,
          onFailure: new SqsDlq(dlq),
          // Same key rules the handler applies: one source of truth.
          filters: filterPatterns(name).map((pattern) => lambda.FilterCriteria.filter(pattern)),
        }),
      );
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'dynamodb:ListStreams (granted by the DynamoDB event source) does not support resource-level permissions.',
      });
      Validations.of(fn.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'Pinned to Node.js 22 on purpose: the bundle targets node22 and is tested on it; runtime upgrades are a deliberate change.',
      });
      functions[name] = fn;
      dlqs[name] = dlq;

      this.alarms(id, fn, dlq, props.iteratorAgeAlarmSeconds ?? 300, alarmAction);
      new CfnOutput(this, `${id}FunctionName`, { value: fn.function.functionName });
      new CfnOutput(this, `${id}StreamDlqUrl`, { value: dlq.queueUrl });
    }
    this.functions = functions;
    this.streamDlqs = dlqs;

    // Least privilege: typesense-sync only sends to its queue (no table access beyond the stream).
    this.searchQueue.grantSendMessages(functions['typesense-sync'].role);
    for (const name of ['image-sync', 'faa-matcher-sync'] as const) {
      functions[name].role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [...TABLE_ACTIONS[name]],
          resources: [this.table.tableArn],
          conditions: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': LEADING_KEY_PREFIXES[name].map((p) => `${p}*`) },
          },
        }),
      );
    }

    const dlqAlarm = new cloudwatch.Alarm(this, 'SearchActionsDlqAlarm', {
      alarmDescription: 'Typesense actions were dead-lettered after repeated failed deliveries',
      metric: this.searchDlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (alarmAction) dlqAlarm.addAlarmAction(alarmAction);

    new CfnOutput(this, 'SearchActionsQueueUrl', { value: this.searchQueue.queueUrl });
    new CfnOutput(this, 'SearchActionsDlqUrl', { value: this.searchDlq.queueUrl });
  }

  private alarms(id: string, fn: StreamFunction, dlq: sqs.Queue, iteratorAgeSeconds: number, action?: cloudwatch.IAlarmAction) {
    const alarms = [
      new cloudwatch.Alarm(this, `${id}IteratorAgeAlarm`, {
        alarmDescription: `${id} is more than ${iteratorAgeSeconds}s behind the table stream`,
        metric: fn.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: iteratorAgeSeconds * 1000,
        evaluationPeriods: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, `${id}StreamDlqAlarm`, {
        alarmDescription: `${id} sent stream batches to its DLQ: records were not applied`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, `${id}ErrorsAlarm`, {
        alarmDescription: `${id} invocations failed (batches are being retried)`,
        metric: fn.function.metricErrors({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    if (action) alarms.forEach((a) => a.addAlarmAction(action));
  }
}

const pascal = (name: string) => name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
