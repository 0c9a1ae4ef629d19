import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../lambda/shared/table';
import { checkExistingTable, checkIntRange, ConfigError, parseStreamArn } from './config';
import { KINESIS_CHANGE_TIME_PRECISION, type KinesisSource, type KinesisSourceOptions } from './sources/kinesis';

/** How StreamFanoutProps name the table (see there). */
export interface FanoutTableProps {
  readonly table?: dynamodb.ITable;
  readonly tableName?: string;
  readonly tableStreamArn?: string;
}

/**
 * The table the fan-out follows: given, named (with its stream ARN; with the Kinesis source the
 * name alone), or created here. With the Kinesis source an existing table's Kinesis streaming
 * destination is enabled on the stream, and a created table streams to it from the start.
 */
export function resolveTable(scope: Construct, props: FanoutTableProps, kinesis?: KinesisSource): dynamodb.ITable {
  const region = Token.isUnresolved(Stack.of(scope).region) ? undefined : Stack.of(scope).region;
  if (props.table) {
    if (props.tableName !== undefined || props.tableStreamArn !== undefined) throw new ConfigError('give either table or tableName + tableStreamArn, not both');
    const arn = props.table.tableStreamArn;
    if (kinesis) {
      // The table's own stream is not read; its changes come through the Kinesis data stream.
      kinesis.enableOnExistingTable(props.table.tableName, props.table.tableArn);
      return props.table;
    }
    if (arn === undefined) throw new ConfigError('table has no tableStreamArn: import it with Table.fromTableAttributes({ tableName, tableStreamArn })');
    if (!Token.isUnresolved(arn) && !Token.isUnresolved(props.table.tableName)) checkExistingTable(props.table.tableName, arn, region);
    return props.table;
  }
  if (kinesis && props.tableName !== undefined && props.tableStreamArn === undefined) {
    const table = dynamodb.Table.fromTableName(scope, 'Table', props.tableName);
    kinesis.enableOnExistingTable(table.tableName, table.tableArn);
    return table;
  }
  if ((props.tableName === undefined) !== (props.tableStreamArn === undefined)) {
    throw new ConfigError('tableName and tableStreamArn go together: give both to use an existing table, or neither to create one');
  }
  if (props.tableName !== undefined && props.tableStreamArn !== undefined) {
    parseStreamArn(props.tableStreamArn);
    checkExistingTable(props.tableName, props.tableStreamArn, region);
    const table = dynamodb.Table.fromTableAttributes(scope, 'Table', { tableName: props.tableName, tableStreamArn: props.tableStreamArn });
    kinesis?.enableOnExistingTable(table.tableName, table.tableArn);
    return table;
  }
  return new dynamodb.Table(scope, 'Table', {
    partitionKey: { name: TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    stream: dynamodb.StreamViewType[TABLE_SCHEMA.streamViewType],
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: TABLE_SCHEMA.timeToLiveAttribute,
    removalPolicy: RemovalPolicy.RETAIN,
    // With the Kinesis source the table streams its changes there too, to the microsecond.
    ...(kinesis && { kinesisStream: kinesis.stream, kinesisPrecisionTimestamp: dynamodb.ApproximateCreationDateTimePrecision[KINESIS_CHANGE_TIME_PRECISION] }),
  });
}

/** The Kinesis source's options, checked (one-line ConfigErrors naming the context keys). */
export function checkKinesisOptions(options: KinesisSourceOptions): KinesisSourceOptions {
  if (options.shardCount !== undefined) checkIntRange('kinesisShardCount', options.shardCount, 1, 10_000);
  if (options.retentionHours !== undefined) checkIntRange('kinesisRetentionHours', options.retentionHours, 24, 8760);
  if (options.streamArn !== undefined && !Token.isUnresolved(options.streamArn) && !/^arn:aws[\w-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[\w.-]+$/.test(options.streamArn)) {
    throw new ConfigError(`kinesisStreamArn is not a Kinesis data stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>): ${options.streamArn}`);
  }
  if (options.streamArn !== undefined && (options.shardCount !== undefined || options.retentionHours !== undefined)) {
    throw new ConfigError('kinesisShardCount and kinesisRetentionHours apply to a stream this stack creates, not to kinesisStreamArn');
  }
  return options;
}
