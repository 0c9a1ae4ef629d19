import { safeError } from './safe-error';

/** Where a failing stream record came from: enough to find it in the table and the stream. */
export interface RecordRef {
  eventID?: string;
  pk?: string;
  sk?: string;
}

export function describeRecord(ref: RecordRef): string {
  return `eventID=${ref.eventID ?? '?'} PK=${ref.pk ?? '?'} SK=${ref.sk ?? '?'}`;
}

/**
 * An error about one stream record. The message names the record (eventID, PK, SK)
 * so a log line or a DLQ investigation leads straight to the row. Its cause is kept in its
 * safe shape only (lambda/shared/safe-error.ts): this error is what gets logged and rethrown.
 */
export class StreamRecordError extends Error {
  readonly eventID?: string;
  readonly pk?: string;
  readonly sk?: string;

  constructor(ref: RecordRef, reason: string, options?: { cause?: unknown }) {
    super(`${reason} [${describeRecord(ref)}]`, options?.cause === undefined ? undefined : { cause: safeError(options.cause) });
    this.name = 'StreamRecordError';
    this.eventID = ref.eventID;
    this.pk = ref.pk;
    this.sk = ref.sk;
  }
}

/**
 * Thrown by a subsystem's `apply` when the change at `position` (and so every later one)
 * did not take effect. Everything before `position` did.
 */
export class ChangeFailedError extends Error {
  constructor(
    readonly position: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'ChangeFailedError';
  }
}
