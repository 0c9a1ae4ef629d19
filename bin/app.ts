#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { propsFromContext } from '../lib/context';
import { StreamFanoutStack } from '../lib/stream-fanout-stack';

const app = new App();
new StreamFanoutStack(app, app.node.tryGetContext('stackName') ?? 'StreamFanout', {
  ...propsFromContext((key) => app.node.tryGetContext(key)),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

// cdk-nag: synth fails on any AwsSolutions finding that the stack has not acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
