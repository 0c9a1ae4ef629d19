import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../local/dynamodb-local';
import { DEFAULT_FAILURE_DIR, datasetFor, formatReport, parseCli, redriveCommand } from '../../local/start';
import type { PipelineReport } from '../../local/pipeline';
import { indexChanges, rowChanges } from '../../local/verbose-diff';
import { generateDataset, SAMPLE_DATASET_OPTIONS } from '../../local/dataset';

describe('npm start CLI', () => {
  it('parses its flags, with the sample dataset by default', () => {
    const edge = { source: 'dynamodb-streams', auditTrail: false, domainEvents: false };
    expect(parseCli([])).toEqual({ help: false, keepRunning: false, records: undefined, seed: 8643, port: undefined, verbose: false, failureDir: DEFAULT_FAILURE_DIR, ...edge });
    expect(DEFAULT_FAILURE_DIR).toMatch(/\.cache\/npm-start\/failures$/);
    expect(parseCli(['--keep-running', '--records', '5000', '--seed', '7', '--port', '8000', '--verbose', '--failure-dir', '/tmp/f'])).toEqual({ help: false, keepRunning: true, records: 5000, seed: 7, port: 8000, verbose: true, failureDir: '/tmp/f', ...edge });
    expect(parseCli(['--source', 'kinesis', '--audit-trail', '--domain-events'])).toMatchObject({ source: 'kinesis', auditTrail: true, domainEvents: true });
    expect(() => parseCli(['--source', 'kafka'])).toThrow(/--source takes dynamodb-streams or kinesis, got "kafka"/);
    expect(parseCli(['-h']).help).toBe(true);
  });

  it('points the indexer at a real Typesense with --typesense-url and --typesense-api-key (both or neither)', () => {
    expect(parseCli(['--typesense-url', 'http://localhost:8108/', '--typesense-api-key', 'xyz']).typesense).toEqual({ url: 'http://localhost:8108', apiKey: 'xyz' });
    expect(() => parseCli(['--typesense-url', 'http://localhost:8108'])).toThrow(/go together/);
    expect(() => parseCli(['--typesense-url', 'localhost', '--typesense-api-key', 'k'])).toThrow(/http\(s\) URL/);
  });

  it.each([
    [['--records', 'many'], '--records takes a positive whole number, got "many"'],
    [['--records', '0'], '--records takes a positive whole number, got "0"'],
    [['--port', '70000'], '--port takes a port number up to 65535, got 70000'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--seed'], "Option '--seed <value>' argument missing"],
    [['extra'], 'Unexpected argument'],
  ])('rejects %j with a one-line UsageError', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(expect.objectContaining({ name: 'UsageError', message: expect.stringContaining(message) }));
  });

  it('sizes a generated dataset from --records', () => {
    expect(datasetFor({ seed: SAMPLE_DATASET_OPTIONS.seed })).toEqual(generateDataset(SAMPLE_DATASET_OPTIONS));
    const rows = datasetFor({ records: 1000, seed: 1 }).rows.length;
    expect(rows).toBeGreaterThan(800);
    expect(rows).toBeLessThan(1300);
  });

  const report = (drift: PipelineReport['audit']['drift']): PipelineReport => ({
    counters: { 'image-sync': { read: 10, filtered: 4, matched: 6, delivered: 6, committed: 6, invocations: 1, functionErrors: 0, partialFailures: 0, invalidResponses: 0, retries: 0, bisects: 0, dlqBatches: 0, dlqRecords: 0 } },
    dynamoRequests: { 'image-sync': { Query: 2 } },
    queue: { sent: 3, duplicates: 0, byCollection: { registry: { upsert: 2, delete: 1 } } },
    index: { registry: 1 },
    pointers: 1,
    tuples: 0,
    dlq: [],
    indexer: { invocations: 2, messages: 3, deleted: 3, failed: 1, functionErrors: 0, deadLettered: 0 },
    audit: { drift, checked: { documents: 1, entities: 1, tuples: 0 } },
  });

  it('reports counters, queue actions and a clean audit', () => {
    const text = formatReport(report([]), { rows: 300, loadSeconds: 1.25, drainSeconds: 0.5 }).join('\n');
    expect(text).toMatch(/image-sync\s+10\s+6\s+4\s+1\s+0\s+0/);
    expect(text).toMatch(/registry\s+2 upserts\s+1 deletes\s+-> 1 documents/);
    expect(text).toContain('no drift');
    expect(text).toContain('Loaded 300 rows and changes in 1.3 s; drained in 0.5 s after the last write');
    expect(text).toContain('Indexer: 2 invocations, 3 messages received, 1 failed (redelivered), 0 dead-lettered');
  });

  it('lists drift instead of claiming none', () => {
    const text = formatReport(report([{ invariant: 'I3', where: 'ICAO#MATCHER#C172 MFR#CESSNA#MODEL#172S', problem: 'count 2, links 1' }]), { rows: 1, loadSeconds: 1, drainSeconds: 1 }).join('\n');
    expect(text).not.toContain('no drift');
    expect(text).toContain('I3 ICAO#MATCHER#C172 MFR#CESSNA#MODEL#172S: count 2, links 1');
  });
});

describe('npm start --verbose', () => {
  it('prints every document added, updated or deleted', () => {
    const before = new Map([['registry', new Map<string, unknown>([['N1', { a: 1 }], ['N2', { a: 2 }]])]]);
    const after = new Map([['registry', new Map<string, unknown>([['N1', { a: 9 }], ['N3', { a: 3 }]])], ['icao_aircraft', new Map<string, unknown>([['A320', { m: 'x' }]])]]);
    expect(indexChanges(before, after)).toEqual(['[index] updated registry/N1 {"a":9}', '[index] added registry/N3 {"a":3}', '[index] deleted registry/N2', '[index] added icao_aircraft/A320 {"m":"x"}']);
    expect(indexChanges(after, after)).toEqual([]);
  });

  it('prints every matcher count and default-image pointer that changed', () => {
    const tuple = (count: number) => ({ PK: 'ICAO#MATCHER#C172', SK: 'MFR#CESSNA#MODEL#172S', count });
    const pointer = (image_id: string) => ({ PK: 'IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#C172', SK: 'DEFAULT', image_id });
    const other = { PK: 'FAA#LINKS', SK: 'X', count: 5 };
    expect(rowChanges([tuple(1), pointer('a'), other], [tuple(2), pointer('b'), { ...other, count: 6 }])).toEqual([
      '[count] ICAO#MATCHER#C172 MFR#CESSNA#MODEL#172S: 1 -> 2',
      '[pointer] IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#C172: a -> b',
    ]);
    expect(rowChanges([tuple(1)], [])).toEqual(['[count] ICAO#MATCHER#C172 MFR#CESSNA#MODEL#172S: 1 -> none']);
    expect(rowChanges([], [pointer('a')])).toEqual(['[pointer] IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#C172: none -> a']);
  });
});

const ROOT = join(__dirname, '..', '..');
const tsx = (args: string[]) => spawnSync('npx', ['tsx', 'local/start.ts', ...args], { cwd: ROOT, encoding: 'utf8' });

describe('npm start as a program', () => {
  it('--help prints the usage and exits 0', () => {
    const r = tsx(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm start -- \[options\]/);
    for (const flag of ['--records', '--seed', '--port', '--keep-running', '--verbose', '--failure-dir', '--typesense-url']) expect(r.stdout).toContain(flag);
  }, 60_000);

  it.each([[['--bogus'], "npm start: Unknown option '--bogus'; see --help"], [['--records', 'x'], 'npm start: --records takes a positive whole number, got "x"; see --help']])('%j: one line on stderr, exit 2, no stack', (args, line) => {
    const r = tsx(args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => !/npm warn/i.test(l))).toEqual([line]);
    expect(r.stdout).toBe('');
  }, 60_000);

  it('an unreachable --typesense-url fails before DynamoDB Local starts: one line naming the URL, exit 2', async () => {
    const closed = await freePort(); // nothing listens there
    const url = `http://127.0.0.1:${closed}`;
    const r = tsx(['--typesense-url', url, '--typesense-api-key', 'k']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`npm start failed: Typesense at ${url} is unreachable (ECONNREFUSED)`]);
    expect(r.stdout).not.toContain('Starting DynamoDB Local');
  }, 60_000);
});

describe('the local redrive command', () => {
  it('names the failure folder from the package root, the table, DynamoDB Local and the served search queue', () => {
    expect(redriveCommand({ failureDir: DEFAULT_FAILURE_DIR, table: 'stream-fanout-local', endpoint: 'http://127.0.0.1:8000', queueUrl: 'http://127.0.0.1:9324/000000000000/search-actions.fifo' })).toBe(
      'AWS_ENDPOINT_URL_SQS=http://127.0.0.1:9324 npm run ops -- redrive --from .cache/npm-start/failures --table stream-fanout-local --endpoint http://127.0.0.1:8000 --queue-url http://127.0.0.1:9324/000000000000/search-actions.fifo',
    );
    expect(redriveCommand({ failureDir: "/tmp/it's here", table: 't', endpoint: 'http://e', queueUrl: 'http://q:1/0/q.fifo' })).toContain(`--from '/tmp/it'\\''s here' --table t`);
  });
});
