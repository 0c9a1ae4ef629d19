import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { main } from '../../ops/cli';
import { captureIo, image, pointerTo, putAll } from './support';
import { createTestTable, type TestTable } from '../support/dynamodb';

const BIN = join(__dirname, '..', '..', 'ops', 'bin.cjs');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the package's bin (stream-fanout-ops) as a user would. */
function ops(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const BAD_ARGS: [string[], string][] = [
  [['audit', '--table', 't', '--bogus'], "ops: audit: Unknown option '--bogus'"],
  [['frobnicate'], 'ops: unknown command "frobnicate" (commands: audit, backfill, redrive, takeover)'],
  [['audit'], 'ops: audit: --table is required'],
  [['audit', '--table', 't', '--segments', 'two'], 'ops: --segments must be a positive integer (got "two")'],
  [['audit', '--table', 't', '--only', 'I4'], 'ops: --only: unknown invariant "I4" (known: I1, I2, I3)'],
  [['audit', '--table', 't', '--typesense-url', 'http://x'], 'ops: --typesense-url needs --typesense-api-key-env VAR (the name of an environment variable holding the key)'],
  [['audit', '--table', 't', '--typesense-url', 'http://x', '--typesense-api-key-env', 'NOPE_KEY'], 'ops: --typesense-api-key-env: environment variable NOPE_KEY is not set or empty'],
  [['backfill', '--table', 't'], 'ops: --queue-url is required to trigger typesense-sync (or leave it out of --subsystems)'],
  [['backfill', '--table', 't', '--subsystems', 'image-sync,nope'], 'ops: --subsystems: unknown subsystem "nope" (known: typesense-sync, image-sync, faa-matcher-sync)'],
  [['redrive', '--table', 't'], 'ops: redrive: give exactly one of --from and --dlq-url'],
  [['redrive', '--table', 't', '--from', '/no/such/dir', '--subsystems', 'image-sync'], 'ops: --from /no/such/dir: not a folder'],
  [['takeover', 'release', '--table', 't'], 'ops: takeover: expected "takeover prepare" (release runs at the end of "backfill --takeover")'],
];

describe('ops CLI: usage errors (in process)', () => {
  it.each(BAD_ARGS)('%j: one line naming the problem, exit 2, before any request', async (args, line) => {
    const io = captureIo();
    expect(await main(args, io, {})).toBe(2);
    expect(io.out).toEqual([]);
    expect(io.err).toEqual([`${line}\n`]);
  });

  it('no command: the overview, exit 2', async () => {
    const io = captureIo();
    expect(await main([], io, {})).toBe(2);
    expect(io.out.join('')).toMatch(/^Usage: npm run ops -- <command>/);
  });
});

describe('ops CLI (spawned)', () => {
  it('--help for the CLI and for each command: exit 0, usage on stdout, nothing on stderr', async () => {
    const runs = await Promise.all([['--help'], ['audit', '--help'], ['backfill', '--help'], ['redrive', '--help'], ['takeover', '--help']].map((a) => ops(a)));
    expect(runs.map((r) => [r.code, r.stderr])).toEqual(runs.map(() => [0, '']));
    expect(runs[0]!.stdout).toMatch(/^Usage: npm run ops -- <command>/);
    expect(runs[1]!.stdout).toMatch(/^Usage: ops audit --table NAME/);
    expect(runs[1]!.stdout).toContain('--typesense-api-key-env VAR');
    expect(runs[2]!.stdout).toContain('--checkpoint FILE');
    expect(runs[3]!.stdout).toContain('--dlq-url URL');
    expect(runs[4]!.stdout).toContain('ops takeover prepare');
  }, 60_000);

  it.each([BAD_ARGS[0]!, BAD_ARGS[3]!, BAD_ARGS[7]!])('%j: one line naming the problem on stderr, exit 2', async (args, line) => {
    const run = await ops(args);
    expect(run).toEqual({ code: 2, stdout: '', stderr: `${line}\n` });
  }, 60_000);

  describe('against DynamoDB Local', () => {
    let table: TestTable;
    beforeAll(async () => {
      table = await createTestTable('ops-cli');
    });
    afterAll(async () => table.drop());

    it('audit --json: one JSON document on stdout; exit 0 when consistent, 1 with the drifted keys', async () => {
      const a1 = image('A', 'IMG#1');
      await putAll(table, [a1, pointerTo(a1)]);
      const args = ['audit', '--table', table.tableName, '--endpoint', table.endpoint, '--only', 'I2,I3', '--json'];
      const clean = await ops(args);
      expect(clean.code).toBe(0);
      expect(JSON.parse(clean.stdout)).toMatchObject({ findings: [], checked: { rows: 2, entities: 1 } });
      expect(clean.stdout.trim().split('\n')).toHaveLength(1);

      await putAll(table, [image('B', 'IMG#1')]);
      const drifted = await ops(args);
      expect(drifted.code).toBe(1);
      expect(JSON.parse(drifted.stdout).findings).toEqual([{ invariant: 'I2', pk: image('B', 'IMG#1').PK, sk: 'DEFAULT', problem: 'entity has images but no pointer' }]);

      const repaired = await ops(['audit', '--table', table.tableName, '--endpoint', table.endpoint, '--only', 'I2', '--repair']);
      expect(repaired.code).toBe(1); // drift was found (and repaired)
      expect(repaired.stdout).toContain('repair: 1 key(s)');
      expect((await ops(args)).code).toBe(0);
    }, 60_000);

    it('a runtime error (unreachable endpoint) is one line on stderr, exit 1, no stack', async () => {
      const run = await ops(['audit', '--table', 'x', '--endpoint', 'http://127.0.0.1:9', '--only', 'I2']);
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^ops audit: /);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }, 60_000);
  });
});
