/**
 * What every ops command shares: the usage error (exit 2, one line), the could-not-run
 * error (exit 3, one line; ops/run-errors.ts maps SDK errors to it), the output streams
 * (stdout holds the result and nothing else; logs and progress go to stderr), a logger for
 * the reconcile paths that writes to stderr, and the atomic file write of checkpoints.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { renameSync, writeFileSync } from 'node:fs';

/** A bad command line: the CLI prints the message alone on one line and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command could not do its work for a reason outside the data (exit 3); the message is the line. */
export class CouldNotRunError extends Error {
  override readonly name = 'CouldNotRunError';
}

export interface OpsIo {
  /** The command's result (one JSON document with --json). */
  readonly stdout: (text: string) => void;
  /** Logs and progress. */
  readonly stderr: (text: string) => void;
  /** stderr is a terminal: draw progress bars. */
  readonly isTTY: boolean;
}

export const processIo: OpsIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  isTTY: Boolean(process.stderr.isTTY),
};

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * The reconcile paths take a Powertools Logger, which prints to stdout; the tools need stdout
 * for their result, so they get this one: JSON lines on stderr, same method names.
 */
export function stderrLogger(io: OpsIo, level: LogLevel = 'warn'): Logger {
  const at = (l: LogLevel) => (message: string, ...extra: unknown[]) => {
    if (LEVELS[l] < LEVELS[level]) return;
    const fields = Object.assign({}, ...extra.map((e) => (e instanceof Error ? { error: e.message } : typeof e === 'object' && e !== null ? e : { extra: e })));
    io.stderr(`${JSON.stringify({ level: l.toUpperCase(), message, ...fields }, (_, v) => (v instanceof Error ? v.message : typeof v === 'bigint' ? String(v) : v))}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
}

/** Writes a file so that a reader (or a resumed run after a kill) sees the old or the new content, never half. */
export function writeFileAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** `backfill-2026-11-23T10:00:00Z`: names one run of a tool in triggers and logs. */
export const runId = (kind: string, now: Date = new Date()): string => `${kind}-${now.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;

/** An error's message; also for errors from another realm (e.g. Node's own under jest), which fail `instanceof Error`. */
export const errorMessage = (error: unknown): string => {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
};

/**
 * The SDK warns on every run under Node 20 that its releases after January 2027 need Node 22.
 * The CLI's stderr is for its own logs and errors (one line per error), so the entries turn
 * that notice off with the SDK's own switch, unless the user set it.
 */
export function dropSdkNodeVersionWarning(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
