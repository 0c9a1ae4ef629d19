import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { LogLevel } from './config';
import { StreamFunction } from './stream-function';
import { LEADING_KEYS, TABLE_ACTIONS } from './table-access';

/** The indexer's function timeout; the search queue's visibility timeout is six times this. */
export const INDEXER_TIMEOUT = Duration.seconds(30);

export interface IndexerOptions {
  /** Typesense node URLs (http(s)://host[:port]); the indexer spreads requests over them. */
  readonly typesenseNodes: readonly string[];
  /** Secrets Manager secret whose SecretString is the Typesense API key (an admin key: it imports and deletes). */
  readonly typesenseApiKeySecretArn: string;
}

export interface IndexerProps extends IndexerOptions {
  readonly queue: sqs.IQueue;
  readonly table: dynamodb.ITable;
  readonly logLevel: LogLevel;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The optional Typesense indexer: Lambda's SQS FIFO event source on the search
 * queue, ten messages a batch, partial batch responses (a failed document fails its message
 * and the later messages of its group; other groups go on).
 */
export class TypesenseIndexer extends Construct {
  readonly fn: StreamFunction;

  constructor(scope: Construct, id: string, props: IndexerProps) {
    super(scope, id);
    this.fn = new StreamFunction(this, 'Function', {
      name: 'typesense-indexer',
      timeout: INDEXER_TIMEOUT,
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      environment: {
        TABLE_NAME: props.table.tableName,
        TYPESENSE_NODES: props.typesenseNodes.join(','),
        TYPESENSE_API_KEY_SECRET_ARN: props.typesenseApiKeySecretArn,
      },
    });
    // Grants consume on the queue only (receive, delete, change visibility, attributes).
    this.fn.function.addEventSource(new SqsEventSource(props.queue, { batchSize: 10, reportBatchItemFailures: true }));
    this.fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.typesenseApiKeySecretArn] }),
    );
    this.fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...TABLE_ACTIONS['typesense-indexer']],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...LEADING_KEYS['typesense-indexer']] } },
      }),
    );
    Validations.of(this.fn.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Pinned to Node.js 22 on purpose: the bundle targets node22 and is tested on it; runtime upgrades are a deliberate change.',
    });
  }
}
