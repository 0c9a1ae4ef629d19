/**
 * The canary rig: values that must never reach a log line (an API key, owner names, cities,
 * captions), and a capture of everything a function prints while it runs: stdout and stderr
 * (where Powertools' Logger and Metrics write), the console, and the thrown error as the
 * Lambda runtime prints it (every enumerable property, nested ones too).
 */
import { inspect } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';

export const CANARY = {
  apiKey: 'cnry-apikey-5v8QxT2w',
  owner: 'CNRY OWNER Zebulon Quarrington',
  city: 'CNRY-CITY Vexhampton',
  street: 'CNRY-STREET 17 Larkspur Lane',
  caption: 'CNRY-CAPTION family photo',
  credit: 'CNRY-CREDIT Ottoline Byrne',
  body: 'CNRY-BODY garbage',
} as const;
const CANARIES: readonly string[] = Object.values(CANARY);

/** Row attributes holding canaries (owner and place), for any row kind. */
export const canaryAttributes = { owner_name: CANARY.owner, city: CANARY.city, street: CANARY.street } as const;

/** A logger as index.ts makes one, at DEBUG so that every line any path can write is written. */
export const debugLogger = (service: string) => new Logger({ serviceName: service, logLevel: 'DEBUG' });

/** What the Lambda runtime prints for a failed invocation: `Invoke Error` and the error with its enumerable properties. */
export function runtimeErrorLine(error: unknown): string {
  const withEnumerable = (value: unknown): unknown =>
    value instanceof Error
      ? Object.assign({ errorType: value.name, errorMessage: value.message, code: (value as { code?: unknown }).code }, value, { stack: value.stack?.split('\n') })
      : value;
  return `Invoke Error \t${JSON.stringify(error, (_key, value) => withEnumerable(value))}`;
}

export interface Captured<T> {
  readonly result?: T;
  readonly error?: unknown;
  /** Every line printed, then the runtime's line and an inspect() of the thrown error. */
  readonly lines: string[];
}

/** Runs `fn` with everything it prints captured (and not shown). */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<Captured<T>> {
  const written: string[] = [];
  const keep = (chunk: unknown) => written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => (keep(chunk), true)) as typeof process.stdout.write),
    jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown) => (keep(chunk), true)) as typeof process.stderr.write),
    ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((method) =>
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void keep(`${args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 20 }))).join(' ')}\n`)),
    ),
  ];
  let result: T | undefined;
  let error: unknown;
  try {
    result = await fn();
  } catch (thrown) {
    error = thrown;
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  const lines = written.join('').split('\n').filter((line) => line.trim() !== '');
  if (error !== undefined) lines.push(runtimeErrorLine(error), inspect(error, { depth: 20 }));
  return { result, error, lines };
}

/** Fails naming each canary found and the line it was in. */
export function expectNoCanary(lines: readonly string[]): void {
  const found = lines.flatMap((line) => CANARIES.filter((canary) => line.includes(canary)).map((canary) => `${canary} in: ${line.slice(0, 400)}`));
  expect(found).toEqual([]);
}

/** Everything printed, for asserting that the failure lines name their record and reason. */
export const joined = (captured: Captured<unknown>) => captured.lines.join('\n');
