import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/shared/metric-names';
import { bundleEnvironment } from './bundling';
import type { LogLevel } from './config';
import { functionCode } from './function-code';
import type { FunctionName } from './function-names';

/** Namespace of the functions' custom metrics (Powertools Metrics; the dashboard reads it). */
export const METRICS_NAMESPACE = DEFAULT_METRICS_NAMESPACE;

export type { FunctionName } from './function-names';

export interface StreamFunctionProps {
  readonly name: FunctionName;
  /** Environment the handler reads at init (e.g. TABLE_NAME, TYPESENSE_QUEUE_URL). */
  readonly environment: Record<string, string>;
  /** Log retention of the function's own log group. */
  readonly logRetention: logs.RetentionDays;
  /** Powertools log level (LOG_LEVEL). */
  readonly logLevel: LogLevel;
  /** Default 60 s. */
  readonly timeout?: Duration;
}

/**
 * The one way we build a function: Node.js 22 on arm64, the function's prebuilt bundle (see
 * functionCode: the pinned SDK bundled rather than the runtime's), an explicit log group with
 * retention, and a role that holds nothing but log writes until the construct grants what the
 * function uses.
 */
export class StreamFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: StreamFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Own role instead of AWSLambdaBasicExecutionRole: writes to this log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.name} handler`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new lambda.Function(this, 'Function', {
      code: functionCode(props.name),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout ?? Duration.seconds(60),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.name,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        LOG_LEVEL: props.logLevel,
        ...bundleEnvironment(),
        ...props.environment,
      },
    });
    // cdk-nag findings every function shares, each for a stated reason.
    Validations.of(this.function).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason: 'Pinned to Node.js 22 on purpose: the bundle targets node22 and is tested on it; runtime upgrades are a deliberate change.',
      },
      {
        id: 'Serverless-LambdaDLQ',
        reason: 'Invoked only by event source mappings, never asynchronously, so an async DLQ would stay empty: a stream batch that exhausts its retries goes to the mapping\'s S3 on-failure destination, an SQS message to its queue\'s dead-letter queue.',
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason: 'Pinned to Node.js 22 on purpose: the bundles target node22 and are tested on a Node 22 binary; a runtime upgrade is a deliberate, tested change.',
      },
      {
        id: 'Serverless-LambdaTracing',
        reason: 'No X-Ray: nothing in the bundles is instrumented, so active tracing would add a segment per invocation and trace-write rights without showing more than the per-batch log summary, the custom metrics and the dashboard do.',
      },
    );
  }
}
