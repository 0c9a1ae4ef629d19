/**
 * The domain-events subsystem on one machine: the real handler and the real EventBridge SDK
 * client, pointed with AWS_ENDPOINT_URL_EVENTBRIDGE at the local PutEvents stand-in
 * (server.ts; not EventBridge), behind one more event-source mapping of the local emulator with
 * the filters the stack synthesises. `npm start -- --domain-events` and the tests assemble it so:
 *
 *   const events = await startDomainEventsLocal({ tableName });
 *   new EsmEmulator({ ..., mappings: [...mappings, events.mapping] });
 *   ...drain...; formatDomainEventsReport(events.report()); events.verboseLines(); await events.stop();
 *
 * The mapping's handler also keeps every change it was handed, so `audit()` checks I6 (every
 * delivered change of an entity has an event with its eventID, no event without one) after a
 * drain, with no more wiring.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import { DEFAULT_EVENT_SOURCE } from '../../lambda/domain-events/config';
import type { DomainEventDetail } from '../../lambda/domain-events/detail';
import { PUT_EVENTS_MAX_BYTES } from '../../lambda/domain-events/entries';
import { createDomainEventsHandler, SUBSYSTEM_NAME } from '../../lambda/domain-events/handler';
import type { EventsSender } from '../../lambda/domain-events/publisher';
import { decodeRecord, type StreamChange } from '../../lambda/shared/decode';
import { toStreamEvent } from '../../lambda/shared/kinesis-record';
import { ROW_KIND_NAMES, rowKindFilters, type RowKindName } from '../../lambda/shared/row-kinds';
import type { StreamMappingSettings } from '../../lib/mapping-settings';
import { auditEvents, type EventsAuditResult } from '../../ops/invariants-events';
import type { MappingConfig, StreamHandler } from '../esm-types';
import { LOCAL_BUS_NAME, startLocalEventBridge, type LocalEventBridge, type StoredEvent } from './server';

export interface DomainEventsLocalOptions {
  readonly tableName: string;
  /** Powertools log level of the handler. Default WARN. */
  readonly logLevel?: string;
  readonly rowKinds?: readonly RowKindName[];
  readonly includeSensitive?: boolean;
  readonly maxRequestBytes?: number;
  /** Sleep of the handler's retry backoff (tests shorten it). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Overrides of the mapping's settings. */
  readonly settings?: Partial<StreamMappingSettings>;
  /** Wraps the SDK client (fault injection, call counting). */
  readonly wrap?: (client: EventsSender) => EventsSender;
}

export interface DomainEventsReport {
  /** Events the stand-in holds (duplicates from retries included: delivery is at least once). */
  readonly events: number;
  /** Distinct detail.eventID among them. */
  readonly distinctChanges: number;
  readonly byDetailType: Readonly<Record<string, number>>;
  /** Events sent with a reference instead of their state (over the size limit). */
  readonly references: number;
  /** I6 over what the mapping delivered and the stand-in holds. */
  readonly audit: EventsAuditResult;
  readonly putEventsCalls: number;
  /** Entries the stand-in refused (injected faults; the handler retried them). */
  readonly failedEntries: number;
}

export interface DomainEventsLocal {
  readonly eventBridge: LocalEventBridge;
  /** Add to the emulator's mappings. */
  readonly mapping: MappingConfig;
  readonly client: EventBridgeClient;
  /** The events' details, in order of acceptance. */
  details(): DomainEventDetail[];
  /** Every change the mapping handed the function (redeliveries included). */
  delivered(): readonly StreamChange[];
  /** I6: every delivered change of an entity has an event with its eventID; no event without one. */
  audit(): EventsAuditResult;
  report(): DomainEventsReport;
  /** One line per event accepted since the last call: detail type, keys, eventID, changed field names (never values). */
  verboseLines(): string[];
  stop(): Promise<void>;
}

export async function startDomainEventsLocal(options: DomainEventsLocalOptions): Promise<DomainEventsLocal> {
  const rowKinds = options.rowKinds ?? [...ROW_KIND_NAMES];
  const maxRequestBytes = options.maxRequestBytes ?? PUT_EVENTS_MAX_BYTES;
  const eventBridge = await startLocalEventBridge({ maxRequestBytes });
  // The SDK's standard endpoint variable, as a deployed function would be configured for another endpoint.
  const previousEndpoint = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = eventBridge.url;
  const client = new EventBridgeClient({ region: eventBridge.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const handler = createDomainEventsHandler({
    eventBusName: LOCAL_BUS_NAME,
    source: DEFAULT_EVENT_SOURCE,
    tableName: options.tableName,
    rowKinds,
    includeSensitive: options.includeSensitive ?? false,
    maxRequestBytes,
    events: options.wrap ? options.wrap(client) : client,
    logger: new Logger({ serviceName: SUBSYSTEM_NAME, logLevel: (options.logLevel ?? 'WARN') as never }),
    ...(options.sleep && { retry: { sleep: options.sleep } }),
  });
  const delivered: StreamChange[] = [];
  const recording: StreamHandler = async (event, context) => {
    // Either source: a Kinesis batch (source kinesis) holds the same changes in its data.
    for (const record of toStreamEvent(event).Records) {
      try {
        delivered.push(decodeRecord(record));
      } catch {
        // Unreadable: the handler fails it, naming the record; it is no delivered change.
      }
    }
    return handler(event, context);
  };
  const mapping: MappingConfig = {
    name: SUBSYSTEM_NAME,
    handler: recording,
    filterPatterns: rowKindFilters(rowKinds),
    ...(options.settings && { settings: options.settings }),
  };
  let shown = 0;
  const detailOf = (event: StoredEvent) => event.detail as unknown as DomainEventDetail;
  const audit = () =>
    auditEvents(
      delivered,
      eventBridge.events().map((e) => ({ detailType: e['detail-type'], detail: detailOf(e) })),
      rowKinds,
    );

  return {
    eventBridge,
    mapping,
    client,
    details: () => eventBridge.events().map(detailOf),
    delivered: () => delivered,
    audit,
    report: () => {
      const events = eventBridge.events();
      const byDetailType: Record<string, number> = {};
      for (const e of events) byDetailType[e['detail-type']] = (byDetailType[e['detail-type']] ?? 0) + 1;
      const requests = eventBridge.requests();
      return {
        events: events.length,
        distinctChanges: new Set(events.map((e) => detailOf(e).eventID)).size,
        byDetailType,
        references: events.filter((e) => detailOf(e).stateOmitted !== undefined).length,
        putEventsCalls: requests.length,
        failedEntries: requests.reduce((sum, r) => sum + r.failed, 0),
        audit: audit(),
      };
    },
    verboseLines: () => {
      const events = eventBridge.events();
      const lines = events.slice(shown).map((e) => {
        const d = detailOf(e);
        return `[event] ${e['detail-type']} ${d.keys.PK} ${d.keys.SK} eventID=${d.eventID} changed=${d.changedFields.join(',') || '-'}${d.stateOmitted ? ' (state by reference)' : ''}`;
      });
      shown = events.length;
      return lines;
    },
    stop: async () => {
      client.destroy();
      if (previousEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
      else process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = previousEndpoint;
      await eventBridge.stop();
    },
  };
}

/** `npm start`'s report lines for domain events: counts, and I6 (findings name keys and eventIDs, never values). */
export function formatDomainEventsReport(report: DomainEventsReport): string[] {
  const types = Object.entries(report.byDetailType)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => `${type} ${n}`)
    .join(', ');
  const { checked, findings } = report.audit;
  return [
    `Domain events: ${report.events} published for ${report.distinctChanges} changes in ${report.putEventsCalls} PutEvents calls` +
      ` (${report.failedEntries} entries refused and retried, ${report.references} sent by reference) to the local EventBridge stand-in`,
    ...(types ? [`  ${types}`] : []),
    findings.length === 0
      ? `  I6 holds: each of ${checked.changes} delivered changes of an entity has its event (${checked.duplicates} duplicates), no event without a change`
      : `  I6: ${findings.length} finding(s)`,
    ...findings.slice(0, 20).map((f) => `  I6 ${f.where}: ${f.problem}`),
    ...(findings.length > 20 ? [`  ... and ${findings.length - 20} more`] : []),
  ];
}

/** True when I6 holds (npm start's exit code counts it as drift otherwise). */
export const domainEventsClean = (report: DomainEventsReport): boolean => report.audit.findings.length === 0;
