#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ConfigError, parseStreamArn } from '../lib/config';
import { propsFromContext } from '../lib/context';
import { StreamFanoutStack } from '../lib/stream-fanout-stack';
import { addNagPacks } from './nag';

const app = new App();
try {
  const context = app.node.getAllContext() as Record<string, unknown>;
  const props = propsFromContext(context);
  // An existing table's stream fixes the region (a mapping reads streams of its own region only);
  // otherwise the CLI's: the profile's or AWS_REGION. The account is always the credentials'.
  const region = props.tableStreamArn === undefined ? process.env.CDK_DEFAULT_REGION : parseStreamArn(props.tableStreamArn).region;
  new StreamFanoutStack(app, (context.stackName as string | undefined) || 'StreamFanout', {
    ...props,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region },
  });
} catch (error) {
  // A configuration mistake is one line, not a stack trace (the CLI adds its own line after).
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`error: ${error.message}\n`);
  process.exit(2);
}

// cdk-nag (AwsSolutions and Serverless): synth fails on any finding not acknowledged with a reason.
addNagPacks(app);
