import { Arn, ArnFormat, Duration, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { checkIntRange, checkSecretArn, checkSecretKmsKeyArn, parseTypesenseNodes, type LogLevel } from './config';
import { StreamFunction } from './stream-function';
import { LEADING_KEYS, TABLE_ACTIONS } from './table-access';

/** The indexer's function timeout; the search queue's visibility timeout is six times this. */
export const INDEXER_TIMEOUT = Duration.seconds(30);

/**
 * Default maximum concurrency of the indexer's queue mapping, sized for a 4-core Typesense:
 * Typesense advises at most (cores - 2) concurrent imports. Also Lambda's minimum for an SQS
 * mapping's maximum concurrency.
 */
export const DEFAULT_INDEXER_MAX_CONCURRENCY = 2;
/** Lambda's bounds on an SQS mapping's maximum concurrency. */
export const INDEXER_MAX_CONCURRENCY_RANGE = [2, 1000] as const;

export interface IndexerOptions {
  /** Typesense node URLs (http(s)://host[:port]); the indexer spreads requests over them. */
  readonly typesenseNodes: readonly string[];
  /**
   * Secrets Manager secret whose SecretString is the Typesense API key (an admin key: it
   * imports and deletes). Its complete ARN, with the 6-character suffix: a partial ARN is a
   * ConfigError, since IAM would match it to no secret.
   */
  readonly typesenseApiKeySecretArn: string;
  /**
   * The customer-managed KMS key the secret is encrypted with: the indexer may then use it to
   * decrypt (kms:Decrypt through Secrets Manager only, for this secret only). Default: none
   * (the secret uses the AWS-managed key aws/secretsmanager, which needs no grant).
   */
  readonly typesenseApiKeyKmsKeyArn?: string;
  /**
   * Most concurrent indexer invocations (the SQS mapping's maximum concurrency, 2 to 1000):
   * each runs one import at a time, so this bounds the imports Typesense sees at once.
   * Default DEFAULT_INDEXER_MAX_CONCURRENCY (2, for a 4-core Typesense: at most cores - 2).
   */
  readonly maxConcurrency?: number;
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
    const nodes = parseTypesenseNodes(props.typesenseNodes);
    const secretArn = props.typesenseApiKeySecretArn;
    const kmsKeyArn = props.typesenseApiKeyKmsKeyArn;
    // A token (a secret of the same app) is a complete ARN once CloudFormation resolves it.
    const secretRegion = Token.isUnresolved(secretArn) ? undefined : checkSecretArn(secretArn);
    if (kmsKeyArn !== undefined && !Token.isUnresolved(kmsKeyArn)) checkSecretKmsKeyArn(kmsKeyArn, secretRegion);
    const maxConcurrency = checkIntRange('indexer.maxConcurrency', props.maxConcurrency ?? DEFAULT_INDEXER_MAX_CONCURRENCY, ...INDEXER_MAX_CONCURRENCY_RANGE);

    this.fn = new StreamFunction(this, 'Function', {
      name: 'typesense-indexer',
      timeout: INDEXER_TIMEOUT,
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      environment: {
        TABLE_NAME: props.table.tableName,
        TYPESENSE_NODES: nodes.join(','),
        TYPESENSE_API_KEY_SECRET_ARN: secretArn,
      },
    });
    // Grants consume on the queue only (receive, delete, change visibility, attributes).
    this.fn.function.addEventSource(
      new SqsEventSource(props.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency }),
    );
    this.fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }),
    );
    if (kmsKeyArn !== undefined) {
      // Only as Secrets Manager decrypting this secret (its encryption context names the
      // secret's complete ARN), never a direct Decrypt of other data under the key.
      // The secret's own region (a token ARN: split at deploy time).
      const { region } = Arn.split(secretArn, ArnFormat.COLON_RESOURCE_NAME);
      this.fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [kmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com`, 'kms:EncryptionContext:SecretARN': secretArn } },
        }),
      );
    }
    this.fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...TABLE_ACTIONS['typesense-indexer']],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...LEADING_KEYS['typesense-indexer']] } },
      }),
    );
  }
}
