/**
 * domain-events' configuration from the environment, checked at init so a bad value fails the
 * function there, naming the variable, never at the first record. The construct
 * (lib/domain-events.ts) sets these variables and checks the same values at synth.
 */
import { requireEnv } from '../shared/env';
import { parseRowKinds } from '../shared/row-kinds';
import { PUT_EVENTS_MAX_BYTES } from './entries';
import type { DomainEventsConfig } from './handler';

export const DEFAULT_EVENT_SOURCE = 'stream-fanout';

/** The smallest request size limit accepted (EventBridge's historical 256 KB is 262,144 bytes). */
export const MIN_REQUEST_BYTES = 8_192;

/** A `source` PutEvents accepts: 1 to 256 characters, not AWS's own `aws.` prefix. */
export function checkEventSource(source: string): string {
  if (source.length < 1 || source.length > 256) throw new Error(`event source must be 1 to 256 characters, got ${source.length}`);
  if (/^aws\./i.test(source)) throw new Error(`event source ${JSON.stringify(source)} starts with "aws.", which EventBridge reserves for AWS services`);
  return source;
}

/** A request size limit between MIN_REQUEST_BYTES and PutEvents' own limit. */
export function checkMaxRequestBytes(value: number): number {
  if (!Number.isInteger(value) || value < MIN_REQUEST_BYTES || value > PUT_EVENTS_MAX_BYTES) {
    throw new Error(`the PutEvents request size limit must be an integer from ${MIN_REQUEST_BYTES} to ${PUT_EVENTS_MAX_BYTES} bytes, got ${value}`);
  }
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = (env[name] ?? '').trim().toLowerCase();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
}

/** Reads and checks the variables; every error names its variable. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): DomainEventsConfig {
  const named = <T>(name: string, read: () => T): T => {
    try {
      return read();
    } catch (error) {
      const message = (error as Error).message;
      throw new Error(message.includes(name) ? message : `${name}: ${message}`);
    }
  };
  const maxText = env.EVENTS_MAX_REQUEST_BYTES?.trim();
  return {
    eventBusName: requireEnv('EVENT_BUS_NAME', env),
    tableName: requireEnv('TABLE_NAME', env),
    source: named('EVENT_SOURCE', () => checkEventSource(env.EVENT_SOURCE?.trim() || DEFAULT_EVENT_SOURCE)),
    rowKinds: named('EVENT_ROW_KINDS', () => parseRowKinds(env.EVENT_ROW_KINDS)),
    includeSensitive: named('EVENTS_INCLUDE_SENSITIVE', () => flag(env, 'EVENTS_INCLUDE_SENSITIVE')),
    maxRequestBytes: maxText ? named('EVENTS_MAX_REQUEST_BYTES', () => checkMaxRequestBytes(Number(maxText))) : PUT_EVENTS_MAX_BYTES,
  };
}
