/**
 * `npm start -- --keep-running` as real processes, stopped every way it can be: Ctrl-C (to
 * the whole foreground group, through npm and without it), SIGTERM to npm or to node alone,
 * SIGHUP to the group (a closed terminal), SIGKILL to node or to tsx. Each time, within 10 s,
 * no process of the run remains: nothing in its process group (npm, tsx, node, esbuild),
 * nothing in DynamoDB Local's group, and no java serving its port. Linux (/proc) only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
/** The run's requirement: everything gone this long after the signal. */
const STOP_WITHIN_MS = 10_000;

interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly state: string;
  readonly args: string;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid: Number(name), ppid: Number(ppid), pgid: Number(pgid), state: state!, args });
    } catch {
      // gone while we looked
    }
  }
  return out;
}

interface Run {
  readonly root: number;
  readonly ddbGroup: number;
  readonly port: number;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
  /** What runs now: the run's group, DynamoDB Local's group, and any java on its port (zombies excluded). */
  left(): Proc[];
  byArgs(pattern: RegExp): Proc;
}

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** Starts the run in its own process group, as a terminal runs a foreground job, and waits for its "Up:" line. */
async function keepRunning(via: 'npm' | 'tsx'): Promise<Run> {
  const failures = mkdtempSync(join(tmpdir(), 'npm-start-signals-'));
  const flags = ['--keep-running', '--records', '40', '--failure-dir', failures];
  const child =
    via === 'npm'
      ? spawn('npm', ['start', '--silent', '--', ...flags], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [TSX, 'local/start.ts', ...flags], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((up, fail) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (/^Up: /m.test(out)) up();
    });
    child.once('exit', () => fail(new Error(`exited before up:\n${out}\n${err}`)));
  });
  const ddbGroup = Number(/DynamoDB Local is up at \S+ \(process group (\d+)\)/.exec(out)![1]);
  const port = Number(/DynamoDB Local is up at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  const run: Run = {
    root: child.pid!,
    ddbGroup,
    port,
    get stdout() {
      return out;
    },
    get stderr() {
      return err;
    },
    exited,
    left: () => processes().filter((p) => p.state !== 'Z' && (p.pgid === child.pid || p.pgid === ddbGroup || (/DynamoDBLocal\.jar/.test(p.args) && p.args.includes(`-port ${port}`)))),
    byArgs: (pattern) => {
      const found = run.left().find((p) => pattern.test(p.args));
      if (!found) throw new Error(`no process matching ${pattern} in the run: ${JSON.stringify(run.left())}`);
      return found;
    },
  } as Run;
  cleanups.push(() => {
    for (const p of run.left()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(failures, { recursive: true, force: true });
  });
  // The run is whole: java on its port, under the watchdog, in its own group.
  expect(run.byArgs(/^java .*DynamoDBLocal\.jar/).pgid).toBe(ddbGroup);
  expect(run.byArgs(/watchdog\.cjs java/).pid).toBe(ddbGroup);
  return run;
}

/** Polls until nothing of the run remains or STOP_WITHIN_MS passed; returns what is left. */
async function leftAfterStop(run: Run): Promise<Proc[]> {
  const deadline = Date.now() + STOP_WITHIN_MS;
  for (;;) {
    const left = run.left();
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** local/start.ts's node (tsx runs it with its preflight), and tsx's own node. */
const NODE = /--require \S*tsx\S*preflight\.cjs/;
const TSX_NODE = /node_modules\/(\.bin\/tsx|tsx\/dist\/cli\.mjs) /;
const javaOf = (left: Proc[]) => left.filter((p) => /^java /.test(p.args));
const describeLinux = process.platform === 'linux' ? describe : describe.skip;

describeLinux('npm start stops cleanly on every signal', () => {
  it('Ctrl-C to the whole group through npm: drains, audits, reports, exits 0 (npm too) and leaves nothing', async () => {
    const run = await keepRunning('npm');
    const node = run.byArgs(NODE);
    expect(run.byArgs(/^npm /).pid).toBe(run.root);
    process.kill(-run.root, 'SIGINT'); // what a terminal does: the whole foreground group
    expect(await run.exited).toBe(0);
    const after = run.stdout.slice(run.stdout.indexOf('Up: '));
    expect(after).toContain('Stopping: draining, then auditing...');
    expect(after).toContain('no drift');
    expect(await leftAfterStop(run)).toEqual([]);
    expect(processes().some((p) => p.pid === node.pid && p.state !== 'Z')).toBe(false);
  }, 240_000);

  it('Ctrl-C to the group without npm (tsx): exits 0 after the report', async () => {
    const run = await keepRunning('tsx');
    process.kill(-run.root, 'SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.stdout.slice(run.stdout.indexOf('Up: '))).toContain('no drift');
    expect(await leftAfterStop(run)).toEqual([]);
  }, 240_000);

  it('SIGTERM to the npm process alone', async () => {
    const run = await keepRunning('npm');
    process.kill(run.root, 'SIGTERM');
    const left = await leftAfterStop(run);
    expect(javaOf(left)).toEqual([]);
    expect(left).toEqual([]);
  }, 240_000);

  it('SIGTERM to node (local/start.ts) alone', async () => {
    const run = await keepRunning('npm');
    process.kill(run.byArgs(NODE).pid, 'SIGTERM');
    const left = await leftAfterStop(run);
    expect(javaOf(left)).toEqual([]);
    expect(left).toEqual([]);
    expect(run.stderr).toContain('npm start: SIGTERM, stopping now');
  }, 240_000);

  it('SIGHUP to the whole group (the terminal closed)', async () => {
    const run = await keepRunning('npm');
    process.kill(-run.root, 'SIGHUP');
    const left = await leftAfterStop(run);
    expect(javaOf(left)).toEqual([]);
    expect(left).toEqual([]);
  }, 240_000);

  it('SIGKILL to node (local/start.ts): the watchdog ends DynamoDB Local', async () => {
    const run = await keepRunning('npm');
    process.kill(run.byArgs(NODE).pid, 'SIGKILL');
    const left = await leftAfterStop(run);
    expect(javaOf(left)).toEqual([]);
    expect(left).toEqual([]);
  }, 240_000);

  it('SIGKILL to tsx: node sees its starter gone and stops, DynamoDB Local with it', async () => {
    const run = await keepRunning('npm');
    process.kill(run.byArgs(TSX_NODE).pid, 'SIGKILL');
    const left = await leftAfterStop(run);
    expect(javaOf(left)).toEqual([]);
    expect(left).toEqual([]);
  }, 240_000);
});
