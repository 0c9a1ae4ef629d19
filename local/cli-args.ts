/**
 * `npm start`'s command line: flags, their checks and --help. A bad flag or value is a
 * UsageError, printed as one line (`npm start: <problem>; see --help`) with exit code 2.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset, SAMPLE_DATASET_OPTIONS, type Dataset } from './dataset';

export const DEFAULT_FAILURE_DIR = resolve(__dirname, '..', '.cache', 'npm-start', 'failures');

export const HELP = `Usage: npm start -- [options]

Runs the whole pipeline on DynamoDB Local: loads a dataset, applies scripted changes, drains
the stream mappings and the search queue, prints a report and audits I1-I3.
Exit code: 0 no drift, 1 drift or dead-lettered batches, 2 bad usage or a failed start;
stopped at once: 130 a second Ctrl-C, 143 SIGTERM, 129 SIGHUP or npm above it gone.

Options:
  --records <n>            a generated dataset of about n rows (default: the ~300-row sample)
  --seed <n>               dataset seed (default ${SAMPLE_DATASET_OPTIONS.seed})
  --port <n>               DynamoDB Local's port (default: a free one)
  --keep-running           stay up after the report; Ctrl-C drains, audits, reports and exits
  --verbose                print every count change and every document the indexer writes
  --failure-dir <dir>      failed batches as S3 on-failure objects (default .cache/npm-start/failures);
                           with --keep-running, the redrive command to replay them is printed
  --source <s>             how changes reach the functions: dynamodb-streams (default) or kinesis
                           (Kinesis delivery emulated over the table's stream: duplicates, no per-item order)
  --audit-trail            also run the audit trail (history table on DynamoDB Local, a key file standing in for KMS)
  --domain-events          also run domain events against a local stand-in for EventBridge's PutEvents API (not EventBridge)
  --typesense-url <url>    index into a real Typesense (with --typesense-api-key); checked first
  --typesense-api-key <k>
  -h, --help               this text
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Args {
  help: boolean;
  keepRunning: boolean;
  records?: number;
  seed: number;
  port?: number;
  verbose: boolean;
  failureDir: string;
  typesense?: { url: string; apiKey: string };
  source: 'dynamodb-streams' | 'kinesis';
  auditTrail: boolean;
  domainEvents: boolean;
}

export function parseCli(argv: readonly string[]): Args {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        'keep-running': { type: 'boolean', default: false },
        records: { type: 'string' },
        seed: { type: 'string' },
        port: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        'failure-dir': { type: 'string' },
        'typesense-url': { type: 'string' },
        'typesense-api-key': { type: 'string' },
        source: { type: 'string' },
        'audit-trail': { type: 'boolean', default: false },
        'domain-events': { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // node:util's messages are long and mention parseArgs options; keep the first sentence.
    throw new UsageError((error as Error).message.split('. ')[0]!.replace(/\.$/, ''));
  }
  const positive = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} takes a positive whole number, got ${JSON.stringify(text)}`);
    return n;
  };
  const url = values['typesense-url'];
  const apiKey = values['typesense-api-key'];
  if ((url === undefined) !== (apiKey === undefined)) throw new UsageError('--typesense-url and --typesense-api-key go together');
  if (url !== undefined && !/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--typesense-url takes an http(s) URL, got ${JSON.stringify(url)}`);
  const port = positive('port', values.port);
  if (port !== undefined && port > 65_535) throw new UsageError(`--port takes a port number up to 65535, got ${port}`);
  if (values['failure-dir'] === '') throw new UsageError('--failure-dir takes a folder');
  const source = values.source ?? 'dynamodb-streams';
  if (source !== 'dynamodb-streams' && source !== 'kinesis') throw new UsageError(`--source takes dynamodb-streams or kinesis, got ${JSON.stringify(source)}`);
  return {
    help: values.help ?? false,
    ...(url !== undefined && apiKey !== undefined && { typesense: { url: url.replace(/\/+$/, ''), apiKey } }),
    keepRunning: values['keep-running'] ?? false,
    records: positive('records', values.records),
    seed: positive('seed', values.seed) ?? SAMPLE_DATASET_OPTIONS.seed,
    port,
    verbose: values.verbose ?? false,
    failureDir: resolve(values['failure-dir'] ?? DEFAULT_FAILURE_DIR),
    source,
    auditTrail: values['audit-trail'] ?? false,
    domainEvents: values['domain-events'] ?? false,
  };
}

/** About `records` rows in all: FAA registrations are a fifth of a generated dataset. */
export function datasetFor(args: Pick<Args, 'records' | 'seed'>): Dataset {
  return generateDataset(args.records ? { seed: args.seed, registrations: Math.max(1, Math.round(args.records / 5)) } : { ...SAMPLE_DATASET_OPTIONS, seed: args.seed });
}
