import { Logger } from '@aws-lambda-powertools/logger';
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
