import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_FAILURE_DIR, datasetFor, formatReport, parseCli } from '../../local/start';
import type { PipelineReport } from '../../local/pipeline';
import { indexChanges, rowChanges } from '../../local/verbose-diff';
import { generateDataset, SAMPLE_DATASET_OPTIONS } from '../../local/dataset';

describe('npm start CLI', () => {
  it('parses its flags, with the sample dataset by default', () => {
    expect(parseCli([])).toEqual({ help: false, keepRunning: false, records: undefined, seed: 8643, port: undefined, verbose: false, failureDir: DEFAULT_FAILURE_DIR });
    expect(DEFAULT_FAILURE_DIR).toMatch(/\.cache\/npm-start\/failures$/);
    expect(parseCli(['--keep-running', '--records', '5000', '--seed', '7', '--port', '8000', '--verbose', '--failure-dir', '/tmp/f'])).toEqual({ help: false, keepRunning: true, records: 5000, seed: 7, port: 8000, verbose: true, failureDir: '/tmp/f' });
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

  /** `npm start -- --keep-running` in its own process group (as a terminal runs it), once it printed its "Up:" line. */
  async function keepRunning() {
    const failures = mkdtempSync(join(tmpdir(), 'npm-start-failures-'));
    const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'local/start.ts', '--keep-running', '--failure-dir', failures], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = { child, stdout: '', stderr: '', javaPid: 0, exited: new Promise<number | null>((done) => child.once('exit', (code) => done(code))) };
    child.stderr.on('data', (d) => (run.stderr += d));
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
      if (run.javaPid && alive(run.javaPid)) process.kill(-run.javaPid, 'SIGKILL');
      rmSync(failures, { recursive: true, force: true });
    });
    await new Promise<void>((up, fail) => {
      child.stdout.on('data', (d) => {
        run.stdout += d;
        if (/^Up: /m.test(run.stdout)) up();
      });
      child.once('exit', () => fail(new Error(`exited before up:\n${run.stdout}\n${run.stderr}`)));
    });
    run.javaPid = Number(/DynamoDB Local is up at \S+ \(pid (\d+)\)/.exec(run.stdout)![1]);
    expect(alive(run.javaPid)).toBe(true);
    return run;
  }
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((f) => f()));

  it('Ctrl-C to the whole process group in --keep-running drains, audits, reports, exits 0 and leaves no java behind', async () => {
    const run = await keepRunning();
    process.kill(-run.child.pid!, 'SIGINT'); // what a terminal does: the whole foreground group
    expect(await run.exited).toBe(0);
    const after = run.stdout.slice(run.stdout.indexOf('Up: '));
    expect(after).toContain('Stopping: draining, then auditing...');
    expect(after).toMatch(/Consistency audit: \d+ documents/);
    expect(after).toContain('no drift');
    expect(alive(run.javaPid)).toBe(false);
    expect(alive(-run.javaPid)).toBe(false); // its process group is gone too
  }, 180_000);

  it('SIGTERM to npm start alone stops DynamoDB Local too', async () => {
    const run = await keepRunning();
    process.kill(run.child.pid!, 'SIGTERM');
    await run.exited;
    // Killed, not yet reaped: java's parent died, so init reaps it (a zombie until then).
    expect(liveInGroup(run.javaPid)).toEqual([]);
  }, 180_000);
});

/** States of the group's processes that still run (zombies, killed but not yet reaped, excluded). */
function liveInGroup(pgid: number): string[] {
  const ps = spawnSync('ps', ['-o', 'pid=,stat=,comm=', '-g', String(pgid)], { encoding: 'utf8' });
  return ps.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !/^\d+\s+Z/.test(l));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

