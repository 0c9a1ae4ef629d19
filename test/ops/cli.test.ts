import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { contributionKey } from '../../lambda/faa-matcher-sync/keys';
import { main } from '../../ops/cli';
import { captureIo, image, link, pointerTo, putAll } from './support';
import { createTestTable, type TestTable } from '../support/dynamodb';

const BIN = join(__dirname, '..', '..', 'ops', 'bin.cjs');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** No AWS configuration at all: no variables, no config or credentials file, no instance metadata. */
const NO_AWS = { AWS_CONFIG_FILE: '/nonexistent/aws-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials', AWS_EC2_METADATA_DISABLED: 'true' };
const AWS_ENV = { ...NO_AWS, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };

/** Runs the package's bin (stream-fanout-ops) as a user would, with exactly `env` (and PATH). */
function ops(args: readonly string[], env: Record<string, string> = AWS_ENV): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const BAD_ARGS: [string[], string][] = [
  [['audit', '--table', 't', '--bogus'], "ops: audit: Unknown option '--bogus'"],
  [['frobnicate'], 'ops: unknown command "frobnicate" (commands: audit, backfill, redrive, takeover, history)'],
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
  [['audit', '--table', 't', '--endpoint', 'localhost:8000'], 'ops: --endpoint must be an http(s) URL such as http://127.0.0.1:8000 (got "localhost:8000")'],
  [['backfill', '--table', 't', '--subsystems', 'image-sync', '--max-failed-keys', '0'], 'ops: --max-failed-keys must be a positive integer (got "0")'],
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
      expect(repaired.code).toBe(0); // drift was found, repaired and re-audited clean
      expect(repaired.stdout).toContain('repair: 1 key(s)');
      expect((await ops(args)).code).toBe(0);
    }, 60_000);

    it('exit 0: a clean backfill against a local engine with no AWS configuration at all (dummy region and credentials)', async () => {
      const a1 = image('C', 'IMG#1');
      await putAll(table, [a1, pointerTo(a1), link('10')]);
      const run = await ops(['backfill', '--table', table.tableName, '--endpoint', table.endpoint, '--subsystems', 'image-sync,faa-matcher-sync', '--json'], NO_AWS);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ complete: true, failed: { count: 0 } });
    }, 60_000);

    it('exit 1: a backfill with a key that failed names it', async () => {
      await putAll(table, [link('20'), { ...contributionKey({ PK: 'FAA#LINKS', SK: String(link('20').SK) }), type_designator: 'C172' }]);
      const run = await ops(['backfill', '--table', table.tableName, '--endpoint', table.endpoint, '--subsystems', 'faa-matcher-sync'], NO_AWS);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('failed keys: 1 (still failing; run the same command again after fixing them)');
      expect(run.stdout).toContain(`  FAILED faa-matcher-sync FAA#LINKS ${link('20').SK}: `);
    }, 60_000);

    it('exit 3: a table that does not exist, one line naming it and the endpoint', async () => {
      const run = await ops(['audit', '--table', 'no-such-table', '--endpoint', table.endpoint, '--only', 'I2'], NO_AWS);
      expect(run).toEqual({ code: 3, stdout: '', stderr: `ops: could not run: table no-such-table not found at ${table.endpoint} (ResourceNotFoundException)\n` });
      const backfill = await ops(['backfill', '--table', 'no-such-table', '--endpoint', table.endpoint, '--subsystems', 'image-sync'], NO_AWS);
      expect(backfill.code).toBe(3);
      const takeover = await ops(['takeover', 'prepare', '--table', 'no-such-table', '--endpoint', table.endpoint], NO_AWS);
      expect(takeover.stderr).toBe(`ops: could not run: table no-such-table not found at ${table.endpoint} (ResourceNotFoundException)\n`);
    }, 60_000);
  });

  describe('exit 3 (could not run) without DynamoDB', () => {
    it('a refused connection: one line naming the endpoint option', async () => {
      const closed = await new Promise<number>((resolve) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
          const { port } = server.address() as { port: number };
          server.close(() => resolve(port));
        });
      });
      const endpoint = `http://127.0.0.1:${closed}`;
      const run = await ops(['audit', '--table', 'x', '--endpoint', endpoint, '--only', 'I2'], NO_AWS);
      expect(run).toEqual({ code: 3, stdout: '', stderr: `ops: could not run: cannot reach DynamoDB at ${endpoint} (ECONNREFUSED): check --endpoint\n` });
    }, 60_000);

    it('no region (no --endpoint, no AWS configuration): one line naming --region, before any request', async () => {
      const run = await ops(['backfill', '--table', 'platform', '--subsystems', 'image-sync'], NO_AWS);
      expect(run).toEqual({ code: 3, stdout: '', stderr: 'ops: could not run: no region: give --region or set AWS_REGION (or a region in the AWS profile)\n' });
    }, 60_000);

    it('no credentials (AWS, region given): one line saying what to set', async () => {
      const run = await ops(['audit', '--table', 'platform', '--region', 'eu-west-1', '--only', 'I2'], NO_AWS);
      expect(run.code).toBe(3);
      expect(run.stderr).toBe('ops: could not run: no AWS credentials found (CredentialsProviderError): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --endpoint for a local engine\n');
    }, 60_000);
  });
});
