import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamFanoutStack, type StreamFanoutStackProps } from '../../lib/stream-fanout-stack';

/** The feature flags and context of cdk.json, so tests synthesise what `cdk synth` does. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context;

/** Context for template tests: cdk.json's, with bundling skipped (no esbuild run). */
export const testContext = (extra: Record<string, unknown> = {}) => ({ ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...extra });

export interface SynthOptions {
  /** Extra context (e.g. what `cdk -c` would pass). */
  context?: Record<string, unknown>;
}

/** Synthesises the stack without bundling (template tests need no esbuild run). */
export function synthStack(props: StreamFanoutStackProps = {}, options: SynthOptions = {}) {
  const app = new App({ context: testContext(options.context) });
  const stack = new StreamFanoutStack(app, 'TestStack', {
    env: { account: '123456789012', region: 'eu-west-1' },
    ...props,
  });
  const template = Template.fromStack(stack);
  return { app, stack, template };
}
