import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import type { SubsystemName } from '../lambda/subsystems';

const ROOT = join(__dirname, '..');

export interface StreamFunctionProps {
  readonly subsystem: SubsystemName;
  /** Environment the handler reads at init (e.g. TABLE_NAME, TYPESENSE_QUEUE_URL). */
  readonly environment: Record<string, string>;
  /** Log retention of the function's own log group. */
  readonly logRetention: logs.RetentionDays;
  /** Powertools log level (LOG_LEVEL). */
  readonly logLevel: string;
}

/**
 * The one way we build a stream-handler function: Node.js 22 on arm64, local esbuild
 * bundling (minified, source maps), the pinned SDK bundled rather than the runtime's,
 * an explicit log group with retention, and a role that holds nothing but log writes
 * until the stack grants what the subsystem uses.
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
      description: `${props.subsystem} stream handler`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(ROOT, 'lambda', props.subsystem, 'index.ts'),
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(60),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.subsystem,
        LOG_LEVEL: props.logLevel,
        // Stack traces in logs point at our TypeScript, not the minified bundle.
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
        format: OutputFormat.CJS,
        // Bundle the pinned SDK: the runtime's copy changes under us.
        externalModules: [],
      },
    });
  }
}
