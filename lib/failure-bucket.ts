import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Where Lambda writes a stream mapping's failure objects: aws/lambda/<mapping UUID>/<shard>/YYYY/MM/DD/... */
export const FAILURE_PREFIX = 'aws/lambda/';
/** Id of the bucket's request-metrics filter on FAILURE_PREFIX (the CloudWatch dimension FilterId). */
export const FAILURE_METRICS_FILTER = 'FailureObjects';

export interface FailureBucketProps {
  /** Days a failure object is kept before lifecycle expiry. */
  readonly retentionDays: number;
  /** Bucket for S3 server access logs; none: access logging off (acknowledged for cdk-nag). */
  readonly accessLogsBucket?: s3.IBucket;
}

/**
 * The one on-failure destination of every stream mapping. Unlike an SQS or
 * SNS destination, which holds only the shard and sequence range, Lambda writes the whole
 * invocation record here, so `ops redrive` can trigger its keys after the stream trimmed them.
 *
 * - SSE-S3, SSL only, all public access blocked, retained when the stack is deleted.
 * - No versioning: Lambda writes each object once under a unique key and nobody overwrites it;
 *   objects leave by `ops redrive` (after the keys were reconciled) or by lifecycle expiry.
 *   Versioning would only keep redriven objects as noncurrent versions.
 */
export class FailureBucket extends Construct {
  readonly bucket: s3.Bucket;
  /** Failure objects written per minute (S3 request metric PutRequests on FAILURE_PREFIX). */
  readonly newObjects: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: FailureBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: false,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'ExpireFailures', prefix: FAILURE_PREFIX, expiration: Duration.days(props.retentionDays) }],
      // Request metrics on Lambda's prefix: the alarm's source (S3 storage metrics are daily, too late).
      metrics: [{ id: FAILURE_METRICS_FILTER, prefix: FAILURE_PREFIX }],
      ...(props.accessLogsBucket && { serverAccessLogsBucket: props.accessLogsBucket, serverAccessLogsPrefix: 'stream-failures/' }),
    });
    if (!props.accessLogsBucket) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'Only Lambda (the mappings\' roles) writes here and only operators read; pass failureAccessLogsBucket to StreamFanout to turn server access logs on.',
      });
    }
    // Alarm source: PutRequests counts the objects Lambda writes (one PutObject per discarded
    // batch). An S3 event notification would be an action, not a metric; EventBridge would need
    // a rule and a target to yield one. Request metrics cost per metric-minute, only when written.
    this.newObjects = new cloudwatch.Metric({
      namespace: 'AWS/S3',
      metricName: 'PutRequests',
      dimensionsMap: { BucketName: this.bucket.bucketName, FilterId: FAILURE_METRICS_FILTER },
      statistic: 'Sum',
      period: Duration.minutes(1),
    });
  }

  /**
   * The mapping's on-failure destination. Not S3OnFailureDestination: that grants read, write
   * and delete on the whole bucket; Lambda needs s3:PutObject and s3:ListBucket (AWS Lambda
   * developer guide, "on-failure destinations", execution role permissions for S3).
   */
  destination(): lambda.IEventSourceDlq {
    const bucket = this.bucket;
    return {
      bind(_mapping, fn) {
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects(`${FAILURE_PREFIX}*`)] }));
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
        const logicalId = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
        if (fn.role) {
          Validations.of(fn.role).acknowledge({
            id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${FAILURE_PREFIX}*]`,
            reason: 'Lambda names each failure object itself (mapping UUID, shard, date, UUID): the grant is PutObject under its aws/lambda/ prefix only.',
          });
        }
        return { destination: bucket.bucketArn };
      },
    };
  }
}
