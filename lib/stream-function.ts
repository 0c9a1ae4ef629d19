import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SubsystemName } from '../lambda/subsystems';
import { bundleEnvironment, cdkBundling } from './bundling';
import { packageRoot } from './paths';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/shared/metric-names';

const ROOT = packageRoot();

/** Namespace of the functions' custom metrics (Powertools Metrics; the dashboard reads it). */
export const METRICS_NAMESPACE = DEFAULT_METRICS_NAMESPACE;

/** A directory under lambda/ with an index.ts entry that exports `handler`. */
export type FunctionName = SubsystemName | 'typesense-indexer';

export interface StreamFunctionProps {
  readonly name: FunctionName;
  /** Environment the handler reads at init (e.g. TABLE_NAME, TYPESENSE_QUEUE_URL). */
  readonly environment: Record<string, string>;
  /** Log retention of the function's own log group. */
  readonly logRetention: logs.RetentionDays;
  /** Powertools log level (LOG_LEVEL). */
  readonly logLevel: string;
  /** Default 60 s. */
  readonly timeout?: Duration;
}

/**
 * The one way we build a function: Node.js 22 on arm64, local esbuild bundling with the
 * options of lib/bundling.ts (what bench/bundles.ts measures), the pinned SDK bundled rather
 * than the runtime's, an explicit log group with retention, and a role that holds nothing but
 * log writes until the construct grants what the function uses.
 */
export class StreamFunction extends Construct {
  readonly function: NodejsFunction;
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

    // Our lock file when run from the repository; an installed copy has none (npm never packs
    // it) and CDK then finds the consuming app's. esbuild runs in ROOT either way.
    const lock = join(ROOT, 'package-lock.json');
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(ROOT, 'lambda', props.name, 'index.ts'),
      handler: 'handler',
      projectRoot: ROOT,
      ...(existsSync(lock) && { depsLockFilePath: lock }),
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
      bundling: cdkBundling(),
    });
  }
}
