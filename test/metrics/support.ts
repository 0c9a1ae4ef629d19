/**
 * Real Powertools Metrics whose EMF lines are captured instead of printed: a test runs a
 * handler inside `capture`, which swallows what is written to stdout (where Powertools' own
 * Console writes) and parses the EMF documents out of it.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { createMetrics, FRESHNESS_METRIC } from '../../lambda/shared/metrics';

export interface EmfDoc {
  readonly namespace: string;
  /** The dimension set(s) of the document, e.g. [['service']] or [['service', 'kind']]. */
  readonly dimensions: string[][];
  /** Metric name -> value, as the document carries it. */
  readonly values: Record<string, unknown>;
  readonly service: unknown;
  readonly kind?: unknown;
}

/**
 * Metrics as index.ts creates them. Powertools reads POWERTOOLS_METRICS_DISABLED (and
 * POWERTOOLS_DEV) at construction, also for each single-metric line: a suite that asserts EMF
 * lines turns metrics on for its own run (call in beforeAll; the returned function restores).
 */
export function enableMetrics(): () => void {
  const saved = { disabled: process.env.POWERTOOLS_METRICS_DISABLED, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE, service: process.env.POWERTOOLS_SERVICE_NAME };
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  delete process.env.POWERTOOLS_METRICS_NAMESPACE;
  delete process.env.POWERTOOLS_SERVICE_NAME;
  return () => {
    for (const [name, value] of [
      ['POWERTOOLS_METRICS_DISABLED', saved.disabled],
      ['POWERTOOLS_METRICS_NAMESPACE', saved.namespace],
      ['POWERTOOLS_SERVICE_NAME', saved.service],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

export const metricsFor = (service: string): Metrics => createMetrics(service);

/** Runs `fn` with stdout captured; returns its result (or error) and the EMF documents written meanwhile. */
export async function capture<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; docs: EmfDoc[]; other: string[] }> {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write);
  let result: T | undefined;
  let error: unknown;
  try {
    result = await fn();
  } catch (e) {
    error = e;
  } finally {
    spy.mockRestore();
  }
  const lines = written.join('').split('\n').filter((l) => l.trim() !== '');
  const docs: EmfDoc[] = [];
  const other: string[] = [];
  for (const line of lines) {
    const parsed = parse(line);
    if (parsed) docs.push(parsed);
    else other.push(line);
  }
  return { result, error, docs, other };
}

function parse(line: string): EmfDoc | undefined {
  let json: any;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  const directive = json?._aws?.CloudWatchMetrics?.[0];
  if (!directive) return undefined;
  expect(json._aws.CloudWatchMetrics).toHaveLength(1);
  const values: Record<string, unknown> = {};
  for (const { Name, Unit } of directive.Metrics as { Name: string; Unit: string }[]) {
    expect(Unit).toBe(Name === FRESHNESS_METRIC ? 'Milliseconds' : 'Count');
    values[Name] = json[Name];
  }
  return { namespace: directive.Namespace, dimensions: directive.Dimensions, values, service: json.service, ...(json.kind !== undefined && { kind: json.kind }) };
}

/** The one counters line of an invocation (dimension set exactly [service]); fails unless there is exactly one. */
export function countersOf(docs: readonly EmfDoc[]): EmfDoc {
  const counters = docs.filter((d) => d.kind === undefined);
  expect(counters).toHaveLength(1);
  expect(counters[0]!.dimensions).toEqual([['service']]);
  // Freshness rides on the same line (see freshnessOf); the counters are the rest.
  const { [FRESHNESS_METRIC]: _freshness, ...values } = counters[0]!.values;
  return { ...counters[0]!, values };
}

/** The ChangeToAppliedMs values of the invocation's line(s), in the order they were added (one per change applied). */
export function freshnessOf(docs: readonly EmfDoc[]): number[] {
  return docs.filter((d) => d.kind === undefined).flatMap((d) => {
    const v = d.values[FRESHNESS_METRIC];
    return v === undefined ? [] : Array.isArray(v) ? (v as number[]) : [v as number];
  });
}

/** kind -> Failures value, from the failure lines (dimension set exactly [service, kind]). */
export function failuresOf(docs: readonly EmfDoc[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const doc of docs.filter((d) => d.kind !== undefined)) {
    expect(doc.dimensions).toEqual([['service', 'kind']]);
    expect(Object.keys(doc.values)).toEqual(['Failures']);
    out[String(doc.kind)] = doc.values.Failures;
  }
  return out;
}

/** Every document is in the StreamFanout namespace with this service dimension. */
export function expectServiceDocs(docs: readonly EmfDoc[], service: string): void {
  expect(docs.length).toBeGreaterThan(0);
  for (const doc of docs) {
    expect(doc.namespace).toBe('StreamFanout');
    expect(doc.service).toBe(service);
  }
}
