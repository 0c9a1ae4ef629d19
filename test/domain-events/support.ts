/** Rows and helpers shared by the domain-events tests. */
import type { PutEventsCommand, PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import Ajv2020 from 'ajv/dist/2020';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PUT_EVENTS_MAX_BYTES } from '../../lambda/domain-events/entries';
import { createDomainEventsHandler, type DomainEventsDeps } from '../../lambda/domain-events/handler';
import type { EventsSender } from '../../lambda/domain-events/publisher';
import { ROW_KIND_NAMES } from '../../lambda/shared/row-kinds';

export type Row = Record<string, unknown> & { PK: string; SK: string };

/** Personal values no event (by default) and no printed line may ever contain. */
export const CANARY = { owner: 'CANARY-OWNER-7f3a', street: 'CANARY-STREET-91c2', city: 'CANARY-CITY-44d0' } as const;

export const faaRow = (reg: string, extra: Record<string, unknown> = {}): Row => ({
  PK: 'AIRCRAFT#REGISTRY#FAA',
  SK: `DETAIL#${reg}`,
  registration: reg,
  manufacturer: 'CESSNA',
  model: '172S',
  serial_number: '17270001',
  type_designator: 'C172',
  year_manufactured: 2004,
  owner_name: CANARY.owner,
  street: CANARY.street,
  city: CANARY.city,
  state: 'KS',
  zip_code: '67201',
  country: 'US',
  status: 'V',
  mfr_mdl_code: '2072738',
  mode_s_hex: 'A1B2C3',
  ...extra,
});

export const imageRow = (reg: string, n: number, extra: Record<string, unknown> = {}): Row => ({
  PK: `IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#${reg}`,
  SK: `IMG#2026-01-0${n}T00:00:00.000Z#img-${n}`,
  org_id: 'SYSTEM',
  entity_type: 'REGISTRATION',
  entity_id: reg,
  image_id: `img-${n}`,
  url: `https://images.example.com/${reg}-${n}.jpg`,
  width: 1600,
  height: 900,
  ...extra,
});

export const icaoTypeRow = (designator: string, extra: Record<string, unknown> = {}): Row => ({
  PK: 'ICAO#AIRCRAFT',
  SK: `TYPE#${designator}`,
  type_designator: designator,
  manufacturer: 'BOEING',
  model: '737-800',
  ...extra,
});

export const BUS = 'test-bus';
export const TABLE = 'test-table';

export const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'docs', 'domain-event.schema.json'), 'utf8'));
// strictRequired off: the schema names state/previous/stateOmitted in conditional `required`s, which that lint cannot follow.
export const validateDetail = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(schema);
export const schemaErrors = (detail: unknown) => (validateDetail(detail) ? null : validateDetail.errors);

export const silentLogger = () => new Logger({ serviceName: 'domain-events', logLevel: 'SILENT' });

export const noSleep = async () => undefined;

/** The handler with test defaults: every kind, no sensitive values, PutEvents' limits, no waiting. */
export function handlerWith(events: EventsSender, overrides: Partial<DomainEventsDeps> & { logger?: Logger } = {}) {
  return createDomainEventsHandler({
    eventBusName: BUS,
    source: 'stream-fanout',
    tableName: TABLE,
    rowKinds: [...ROW_KIND_NAMES],
    includeSensitive: false,
    maxRequestBytes: PUT_EVENTS_MAX_BYTES,
    retry: { sleep: noSleep },
    ...overrides,
    events,
    logger: overrides.logger ?? silentLogger(),
  });
}

/**
 * An in-memory PutEvents boundary: answers each call with `answer` (default: all accepted)
 * and keeps every call's entries. Tests script failures per call and entry.
 */
export function recordingSender(answer?: (entries: NonNullable<PutEventsCommand['input']['Entries']>, call: number) => PutEventsCommandOutput | Promise<PutEventsCommandOutput>) {
  const calls: NonNullable<PutEventsCommand['input']['Entries']>[] = [];
  const sender: EventsSender = {
    send: async (command) => {
      const entries = command.input.Entries ?? [];
      calls.push(entries);
      if (answer) return answer(entries, calls.length - 1);
      return { $metadata: {}, FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `id-${calls.length}-${i}` })) };
    },
  };
  return { sender, calls, details: () => calls.flat().map((e) => JSON.parse(e.Detail!)) };
}

/**
 * A Metrics stand-in that records what MetricTally publishes (Count metrics summed, Failures by
 * kind), so these tests read the tally without parsing EMF lines.
 */
export function recordingMetrics() {
  const counters: Record<string, number> = {};
  const failures: Record<string, number> = {};
  const metrics = {
    addMetric: (name: string, unit: string, value: number) => {
      if (unit === 'Count') counters[name] = (counters[name] ?? 0) + value;
    },
    publishStoredMetrics: () => undefined,
    clearMetrics: () => undefined,
    singleMetric: () => ({
      addDimension: (_name: string, kind: string) => ({
        addMetric: (_metric: string, _unit: string, value: number) => void (failures[kind] = (failures[kind] ?? 0) + value),
      }),
    }),
  };
  return { metrics: metrics as unknown as import('@aws-lambda-powertools/metrics').Metrics, counters, failures };
}
