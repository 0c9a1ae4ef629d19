import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as logs from 'aws-cdk-lib/aws-logs';
import { KinesisConsumerEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import type { FilterPattern } from '../../lambda/shared/key-rules';
import { streamMappingProps, type ChangeSource, type MappingEventSource, type MappingRequest } from './change-source';

/** Precision of the change time the table writes into each Kinesis record. */
export const KINESIS_CHANGE_TIME_PRECISION = 'MICROSECOND';

export interface KinesisSourceOptions {
  /**
   * A Kinesis data stream the table already streams to. Default: none (a stream is created and
   * the table's Kinesis streaming destination is enabled on it). A table streams to one Kinesis
   * data stream at a time: when yours already does, give that stream here.
   */
  readonly streamArn?: string;
  /** Shards of a provisioned stream. Default: none (on-demand capacity). */
  readonly shardCount?: number;
  /** Hours the stream keeps records (24 to 8760). Default 24. */
  readonly retentionHours?: number;
}

/**
 * Kinesis Data Streams for DynamoDB as the change source: one data stream (AWS-managed
 * encryption) fed by the table, and one enhanced fan-out consumer per function, each with its
 * own 2 MB/s per shard, so adding a subsystem adds no read contention. Records may be
 * duplicated and are not ordered per item across shards: the level-triggered subsystems re-read
 * the table, the edge subsystems are idempotent per record and order by change time.
 */
export class KinesisSource extends Construct implements ChangeSource {
  readonly kind = 'kinesis' as const;
  readonly stream: kinesis.IStream;
  /** True when the stream was created here (so the table must be pointed at it). */
  readonly created: boolean;
  readonly consumers: kinesis.StreamConsumer[] = [];

  constructor(scope: Construct, id: string, options: KinesisSourceOptions = {}) {
    super(scope, id);
    this.created = options.streamArn === undefined;
    this.stream = options.streamArn
      ? kinesis.Stream.fromStreamArn(this, 'Stream', options.streamArn)
      : new kinesis.Stream(this, 'Stream', {
          ...(options.shardCount === undefined ? { streamMode: kinesis.StreamMode.ON_DEMAND } : { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: options.shardCount }),
          encryption: kinesis.StreamEncryption.MANAGED,
          retentionPeriod: Duration.hours(options.retentionHours ?? 24),
        });
  }

  /**
   * For a table this stack does not create: enables its Kinesis streaming destination on the
   * stream when deployed, and disables it when the stack is deleted. A table that already streams
   * elsewhere makes the deploy fail with DynamoDB's message: pass that stream as `streamArn`.
   */
  enableOnExistingTable(tableName: string, tableArn: string): void {
    if (!this.created) return;
    const parameters = { TableName: tableName, StreamArn: this.stream.streamArn };
    // AwsCustomResource runs on one provider function per stack: when this is the first, it gets
    // a role that writes only to its own log group (no AWSLambdaBasicExecutionRole) and an
    // explicit memory size; when the stack already has one, that one is used as it is.
    const stack = Stack.of(this);
    const providerId = `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/[^a-zA-Z0-9]/g, '')}`;
    const provider = stack.node.tryFindChild(providerId) === undefined ? this.providerRoleAndLogs() : undefined;
    const destination = new cr.AwsCustomResource(this, 'TableDestination', {
      onCreate: {
        service: 'DynamoDB',
        action: 'EnableKinesisStreamingDestination',
        parameters: { ...parameters, EnableKinesisStreamingConfiguration: { ApproximateCreationDateTimePrecision: KINESIS_CHANGE_TIME_PRECISION } },
        physicalResourceId: cr.PhysicalResourceId.of(`${tableName}/kinesis-destination`),
      },
      onDelete: {
        service: 'DynamoDB',
        action: 'DisableKinesisStreamingDestination',
        parameters,
        // Already disabled, or the table is gone: nothing left to undo.
        ignoreErrorCodesMatching: 'ResourceNotFoundException|ValidationException',
      },
      installLatestAwsSdk: false,
      ...(provider && { role: provider.role, logGroup: provider.logGroup, memorySize: 128 }),
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['dynamodb:EnableKinesisStreamingDestination', 'dynamodb:DisableKinesisStreamingDestination'], resources: [tableArn] }),
        new iam.PolicyStatement({ actions: ['kinesis:DescribeStream', 'kinesis:PutRecords'], resources: [this.stream.streamArn] }),
        // DynamoDB checks the stream through ListStreams, which has no resource-level permission.
        new iam.PolicyStatement({ actions: ['kinesis:ListStreams'], resources: ['*'] }),
      ]),
    });
    destination.node.addDependency(this.stream);
    Validations.of(destination).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: "kinesis:ListStreams, which DynamoDB requires of the caller of EnableKinesisStreamingDestination, supports no resource-level permission; the role's other kinesis actions name this stream only.",
    });
    if (provider) {
      Validations.of(stack.node.findChild(providerId)).acknowledge(
        {
          id: 'Serverless-LambdaDLQ',
          reason: "The custom resource provider answers CloudFormation, which waits for the answer: a failed call fails the deploy (or the delete) with the provider's log line, so a dead-letter queue would only hold a request nobody can answer any more.",
        },
        {
          id: 'Serverless-LambdaTracing',
          reason: 'The custom resource provider makes one DynamoDB call per deploy or stack deletion; its log group records each call and its outcome, which is all a trace would show.',
        },
      );
    }
  }

  /** The custom resource provider's log group, and a role that may write to it and nothing else (until its policy is attached). */
  private providerRoleAndLogs(): { role: iam.Role; logGroup: logs.LogGroup } {
    const logGroup = new logs.LogGroup(this, 'ProviderLogGroup', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: "Custom resource provider: the table's Kinesis streaming destination",
    });
    logGroup.grantWrite(role);
    return { role, logGroup };
  }

  /** Nothing to acknowledge: a consumer's grants name the consumer and the stream. */
  acknowledgeReader(): void {}

  eventSource(request: MappingRequest): MappingEventSource {
    const consumer = new kinesis.StreamConsumer(this, `${pascal(request.name)}Consumer`, {
      stream: this.stream,
      // Unique per stream: one consumer per function, named after it and the stack.
      streamConsumerName: `${Stack.of(this).stackName}-${request.name}`,
    });
    this.consumers.push(consumer);
    return new KinesisConsumerEventSource(consumer, streamMappingProps(request, request.filters.map(onKinesisData)));
  }
}

/** A filter on a stream record, moved to where a Kinesis record carries the change: its JSON `data`. */
export const onKinesisData = (pattern: FilterPattern): FilterPattern => ({ data: pattern });

const pascal = (name: string) => name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
