#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../lib/config';
import { propsFromContext } from '../lib/context';
import { StreamFanoutStack } from '../lib/stream-fanout-stack';

const app = new App();
try {
  const context = app.node.getAllContext() as Record<string, unknown>;
  new StreamFanoutStack(app, (context.stackName as string | undefined) || 'StreamFanout', {
    ...propsFromContext(context),
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} catch (error) {
  // A configuration mistake is one line, not a stack trace (the CLI adds its own line after).
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`error: ${error.message}\n`);
  process.exit(2);
}

// cdk-nag: synth fails on any AwsSolutions finding that the stack has not acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
