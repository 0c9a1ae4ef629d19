/**
 * The operations CLI: `npm run ops -- <command> [options]`. A thin shell: it parses the
 * command line, builds the SDK clients (ops/aws.ts: standard region and credentials; a local
 * engine with --endpoint needs no AWS configuration), runs the command's function and prints
 * its report. Exit status: 0 all is well; 1 drift found or some keys failed; 2 usage error;
 * 3 could not run (ops/run-errors.ts). Every error is one line starting `ops: `.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseArgs } from 'node:util';
import { prepareTakeover } from '../lambda/faa-matcher-sync/takeover';
import type { Invariant } from './invariants';
import { auditExitCode, runAudit } from './audit';
import { credentialsFor, nameFailedRequests, resolveRegion } from './aws';
import { backfillIsClean, runBackfill } from './backfill';
import { dropSdkNodeVersionWarning, errorMessage, processIo, runId, stderrLogger, UsageError, type OpsIo } from './common';
import { folderStore, parseFrom, s3Store } from './failure-store';
import { HELP } from './help';
import { historyCommand, parseHistoryArgs } from './history';
import { matcherTableScan } from './matcher-scan';
import { checkQueue } from './preflight';
import { formatReport } from './report';
import { progressBar } from './progress';
import { createReconcilers, parseSubsystems } from './reconcile';
import { runDlqRedrive, runRedrive } from './redrive';
import { describeFailure, type RunPlace } from './run-errors';
import { approximateItemCount } from './scan';
import { apiKeyFromEnv, readTypesenseIndex } from './typesense';

const COMMON = {
  table: { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

const OPTIONS = {
  audit: { ...COMMON, segments: { type: 'string' }, rate: { type: 'string' }, only: { type: 'string' }, 'typesense-url': { type: 'string' }, 'typesense-api-key-env': { type: 'string' }, repair: { type: 'boolean' }, 'queue-url': { type: 'string' } },
  backfill: {
    ...COMMON, segments: { type: 'string' }, rate: { type: 'string' }, 'page-size': { type: 'string' }, subsystems: { type: 'string' }, 'queue-url': { type: 'string' }, checkpoint: { type: 'string' },
    'dry-run': { type: 'boolean' }, takeover: { type: 'boolean' }, 'max-failed-keys': { type: 'string' }, 'failed-keys': { type: 'string' },
  },
  redrive: { ...COMMON, from: { type: 'string' }, 's3-endpoint': { type: 'string' }, keep: { type: 'boolean' }, 'dlq-url': { type: 'string' }, subsystems: { type: 'string' }, 'queue-url': { type: 'string' }, 'dry-run': { type: 'boolean' } },
  takeover: { ...COMMON, segments: { type: 'string' }, rate: { type: 'string' }, 'subtract-contributions': { type: 'boolean' } },
  history: { ...COMMON, pk: { type: 'string' }, sk: { type: 'string' }, limit: { type: 'string' }, decrypt: { type: 'boolean' }, 'key-file': { type: 'string' } },
} as const;

type Command = keyof typeof OPTIONS;
type Values = Record<string, string | boolean | undefined>;

function positiveInt(values: Values, name: string, fallback?: number): number | undefined {
  const text = values[name];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer (got ${JSON.stringify(text)})`);
  return n;
}

/** An endpoint option: an http(s) URL, checked before any client exists. */
function endpointOption(values: Values, name: string): string | undefined {
  const text = values[name] as string | undefined;
  if (text === undefined) return undefined;
  let protocol = '';
  try {
    protocol = new URL(text).protocol;
  } catch {
    // reported below
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw new UsageError(`--${name} must be an http(s) URL such as http://127.0.0.1:8000 (got ${JSON.stringify(text)})`);
  return text;
}

function parseOnly(text: string | undefined): Set<Invariant> {
  if (text === undefined) return new Set(['I1', 'I2', 'I3']);
  const names = text.split(',').map((s) => s.trim().toUpperCase());
  for (const n of names) if (!['I1', 'I2', 'I3'].includes(n)) throw new UsageError(`--only: unknown invariant ${JSON.stringify(n)} (known: I1, I2, I3)`);
  return new Set(names as Invariant[]);
}

function parse(command: Command, args: string[]): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options: OPTIONS[command], strict: true, allowPositionals: command === 'takeover' });
    return { values: values as Values, positionals };
  } catch (error) {
    // Node's messages are one line; drop its "To specify a positional..." hints.
    throw new UsageError(`${command}: ${errorMessage(error).split('. ')[0]!.replace(/\.$/, '')}`);
  }
}

/** Every check of the command line, before any client exists or any request is made. */
function validate(command: Command, values: Values, positionals: readonly string[], env: NodeJS.ProcessEnv) {
  const url = values['typesense-url'] as string | undefined;
  const from = values.from as string | undefined;
  const dlqUrl = values['dlq-url'] as string | undefined;
  if (command === 'redrive' && !from === !dlqUrl) throw new UsageError('redrive: give exactly one of --from and --dlq-url');
  if (command === 'takeover' && (positionals.length !== 1 || positionals[0] !== 'prepare')) {
    throw new UsageError('takeover: expected "takeover prepare" (release runs at the end of "backfill --takeover")');
  }
  const subsystems = parseSubsystems(values.subsystems as string | undefined);
  const dryRun = Boolean(values['dry-run']);
  const queueUrl = values['queue-url'] as string | undefined;
  if ((command === 'backfill' || command === 'redrive') && subsystems.includes('typesense-sync') && !queueUrl && !dryRun) {
    throw new UsageError('--queue-url is required to trigger typesense-sync (or leave it out of --subsystems)');
  }
  return {
    history: command === 'history' ? parseHistoryArgs(values) : undefined,
    endpoint: endpointOption(values, 'endpoint'),
    s3Endpoint: endpointOption(values, 's3-endpoint'),
    segments: positiveInt(values, 'segments', 4)!,
    rate: positiveInt(values, 'rate', 0),
    pageSize: positiveInt(values, 'page-size'),
    maxFailedKeys: positiveInt(values, 'max-failed-keys'),
    only: parseOnly(values.only as string | undefined),
    url,
    apiKey: url ? apiKeyFromEnv(values['typesense-api-key-env'] as string | undefined, env) : undefined,
    subsystems,
    dryRun,
    queueUrl,
    dlqUrl,
    source: from ? parseFrom(from) : undefined,
  };
}

export async function main(argv: readonly string[], io: OpsIo = processIo, env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<number> {
  const [command, ...args] = argv;
  let place: RunPlace = {};
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.stdout(`${HELP.main}\n`);
      return command === undefined ? 2 : 0;
    }
    if (!(command in OPTIONS)) throw new UsageError(`unknown command ${JSON.stringify(command)} (commands: audit, backfill, redrive, takeover, history)`);
    const { values, positionals } = parse(command as Command, args);
    if (values.help) {
      io.stdout(`${HELP[command]}\n`);
      return 0;
    }
    const tableName = values.table as string | undefined;
    if (!tableName) throw new UsageError(`${command}: --table is required`);
    const settings = validate(command as Command, values, positionals, env);
    const { endpoint, s3Endpoint, queueUrl } = settings;
    const region = await resolveRegion(values.region as string | undefined, Boolean(endpoint));
    place = { ...(endpoint && { endpoint }), region };
    const credentials = credentialsFor(Boolean(endpoint), region);
    const clientConfig = { region, ...(endpoint && { endpoint }), ...(credentials && { credentials }) };
    const client = nameFailedRequests(new DynamoDBClient(clientConfig), 'DynamoDB');
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const logger = stderrLogger(io, values.verbose ? 'info' : 'warn');
    // The search queue's endpoint comes from the SDK's standard configuration (AWS_ENDPOINT_URL_SQS).
    const sqs = nameFailedRequests(new SQSClient({ region, ...(credentials && { credentials }) }), 'SQS');
    const json = Boolean(values.json);
    const print = (kind: string, report: object) => io.stdout(json ? `${JSON.stringify(report)}\n` : `${formatReport(kind, report)}\n`);
    try {
      switch (command as Command) {
        case 'audit': {
          const { only, url, apiKey } = settings;
          const repair = values.repair
            ? { reconcilers: createReconcilers({ doc, tableName, logger, subsystems: queueUrl ? ['typesense-sync', 'image-sync', 'faa-matcher-sync'] : ['image-sync', 'faa-matcher-sync'], sqs, ...(queueUrl && { queueUrl }) }), run: runId('repair') }
            : undefined;
          const bar = progressBar(io, 'audit: scanning', await approximateItemCount(client, tableName));
          if (repair && queueUrl) await checkQueue(sqs, queueUrl);
          const report = await runAudit({
            client,
            tableName,
            segments: settings.segments,
            rate: settings.rate,
            only,
            ...(url && apiKey && { readIndex: () => readTypesenseIndex(url, apiKey) }),
            ...(repair && { repair }),
            onProgress: (n) => bar.update(n),
          });
          bar.finish();
          print('audit', report);
          return auditExitCode(report);
        }
        case 'backfill': {
          const { subsystems, dryRun } = settings;
          // A dry run sends nothing, so it needs no queue.
          const reconcilers = createReconcilers({ doc, tableName, logger, subsystems, sqs, ...((queueUrl ?? (dryRun ? 'dry-run' : undefined)) && { queueUrl: queueUrl ?? 'dry-run' }) });
          const bar = progressBar(io, 'backfill', await approximateItemCount(client, tableName));
          if (queueUrl && !dryRun && subsystems.includes('typesense-sync')) await checkQueue(sqs, queueUrl);
          const report = await runBackfill({
            client, doc, tableName, logger, reconcilers, dryRun,
            run: runId('backfill'),
            segments: settings.segments,
            rate: settings.rate,
            ...(settings.pageSize && { pageSize: settings.pageSize }),
            ...(settings.maxFailedKeys && { maxFailedKeys: settings.maxFailedKeys }),
            ...(values.checkpoint !== undefined && { checkpointFile: values.checkpoint as string }),
            ...(values['failed-keys'] !== undefined && { failedKeysFile: values['failed-keys'] as string }),
            takeover: Boolean(values.takeover),
            ...(signal && { signal }),
            onProgress: (n) => bar.update(n),
          });
          bar.finish();
          print('backfill', report);
          if (report.takeoverRefused) io.stderr(`ops: ${report.takeoverRefused}\n`);
          return backfillIsClean(report) ? 0 : 1;
        }
        case 'redrive': {
          const { subsystems, dryRun, dlqUrl, source } = settings;
          const reconcilers = createReconcilers({ doc, tableName, logger, subsystems, sqs, ...((queueUrl ?? (dryRun ? 'dry-run' : undefined)) && { queueUrl: queueUrl ?? 'dry-run' }) });
          const run = runId('redrive');
          await approximateItemCount(client, tableName); // the table exists and answers
          if (queueUrl && !dryRun && subsystems.includes('typesense-sync')) await checkQueue(sqs, queueUrl);
          if (dlqUrl) {
            const streams = nameFailedRequests(new DynamoDBStreamsClient(clientConfig), 'DynamoDB Streams');
            try {
              const report = await runDlqRedrive({ sqs, queueUrl: dlqUrl, streams, reconcilers, run, dryRun });
              print('redrive', report);
              return report.messages.some((m) => m.outcome === 'left') ? 1 : 0;
            } finally {
              streams.destroy();
            }
          }
          const s3Credentials = credentialsFor(Boolean(s3Endpoint), region);
          const store =
            source!.kind === 'folder'
              ? folderStore(source!.dir)
              : s3Store(nameFailedRequests(new S3Client({ region, ...(s3Credentials && { credentials: s3Credentials }), ...(s3Endpoint && { endpoint: s3Endpoint, forcePathStyle: true }) }), 'S3'), source!.bucket, source!.prefix);
          const bar = progressBar(io, 'redrive: objects', 0);
          const report = await runRedrive({ store, reconcilers, run, dryRun, keep: Boolean(values.keep), onProgress: (n) => bar.update(n) });
          bar.finish();
          print('redrive', report);
          return report.objects.some((o) => o.outcome === 'left') ? 1 : 0;
        }
        case 'history': {
          // --table is the audit trail's history table.
          const kms = () => nameFailedRequests(new KMSClient({ region, ...(credentials && { credentials }) }), 'KMS');
          io.stdout(`${await historyCommand({ client, tableName, args: settings.history!, json, kms })}\n`);
          return 0;
        }
        case 'takeover': {
          await approximateItemCount(client, tableName); // the table exists and answers
          const existingContributions = values['subtract-contributions'] ? 'subtract' : 'refuse';
          const scan = matcherTableScan({ client, tableName, segments: settings.segments, ...(settings.rate !== undefined && { rate: settings.rate }), ...(signal && { signal }) });
          const report = await prepareTakeover({ doc, tableName, logger, scan }, { existingContributions });
          print('takeover', report);
          return 0;
        }
      }
    } finally {
      client.destroy();
      sqs.destroy();
    }
  } catch (error) {
    const { code, line } = describeFailure(error, place);
    io.stderr(`ops: ${line}\n`);
    return code;
  }
  return 0;
}

if (require.main === module) {
  dropSdkNodeVersionWarning();
  const controller = new AbortController();
  // First Ctrl-C: finish the pages in flight and save the checkpoint; second: exit at once.
  process.once('SIGINT', () => {
    process.stderr.write('\nops: stopping after the pages in flight (Ctrl-C again to abort)\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  main(process.argv.slice(2), processIo, process.env, controller.signal).then((code) => {
    process.exitCode = code;
  });
}
