import { Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord } from 'aws-lambda';
import type { StreamChange } from './decode';

/**
 * One Powertools logger per function. Verbosity comes from `LOG_LEVEL` /
 * `POWERTOOLS_LOG_LEVEL`; the service name from `POWERTOOLS_SERVICE_NAME` or `service`.
 */
export function createLogger(service: string): Logger {
  return new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? service });
}

/** The compact per-record summary: never the images (registry rows hold owner names and addresses). */
export function recordSummary(change: StreamChange): Record<string, unknown> {
  return {
    eventName: change.eventName,
    pk: change.keys.PK,
    sk: change.keys.SK,
    sizeBytes: change.sizeBytes,
    eventID: change.eventID,
  };
}

/**
 * The per-record line ('stream record', recordSummary), at DEBUG: at INFO, Powertools
 * formatting and writing it was ~38 % of typesense-sync's CPU per record. LOG_LEVEL=DEBUG
 * (or Powertools' debug sampling, POWERTOOLS_LOGGER_SAMPLE_RATE) brings it back, one line per
 * record; at INFO the subsystems' per-batch lines and batchSummary remain. The level is checked
 * first, so a quieter logger builds nothing (Powertools' debug-log buffering is not used here).
 */
export function logRecord(log: Logger, change: StreamChange): void {
  if (log.level > LogLevelThreshold.DEBUG) return;
  log.debug('stream record', recordSummary(change));
}

/**
 * The per-batch INFO summary ('stream batch'): how many records came and how many the
 * subsystem owns (the RecordsReceived / RecordsOwned metrics), by eventName, and the batch's
 * stream position. Keys and images stay out: the per-record line is DEBUG.
 */
export function batchSummary(records: readonly DynamoDBRecord[], owned: readonly StreamChange[]): Record<string, unknown> {
  const eventNames: Record<string, number> = {};
  for (const change of owned) eventNames[change.eventName] = (eventNames[change.eventName] ?? 0) + 1;
  return {
    recordsReceived: records.length,
    recordsOwned: owned.length,
    eventNames,
    firstSequenceNumber: records[0]?.dynamodb?.SequenceNumber,
    lastSequenceNumber: records[records.length - 1]?.dynamodb?.SequenceNumber,
  };
}
