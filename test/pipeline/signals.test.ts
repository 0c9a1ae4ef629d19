/**
 * `npm start -- --keep-running` as real processes, stopped every way it can be: Ctrl-C (to
 * the whole foreground group, through npm and without it, idle and busy), SIGTERM to npm or
 * to node alone, SIGHUP to the group (a closed terminal), SIGKILL to node or to npm. Each
 * time, within 10 s, no process of the run remains: nothing in its process group (npm, node, esbuild),
 * nothing in DynamoDB Local's group, and no java serving its port. Linux (/proc) only.
 */
import { NODE, processes, startRun, type Proc, type Run, type RunOptions } from '../support/npm-start-run';

/** The run's requirement: everything gone this long after the signal. */
const STOP_WITHIN_MS = 10_000;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));
const start = async (options: RunOptions = {}) => {
  const run = await startRun(options);
  cleanups.push(run.cleanup);
  return run;
};

/** Polls until nothing of the run remains or STOP_WITHIN_MS passed; returns what is left. */
async function leftAfterStop(run: Run): Promise<Proc[]> {
  const deadline = Date.now() + STOP_WITHIN_MS;
  for (;;) {
    const left = run.left();
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const javaOf = (left: Proc[]) => left.filter((p) => /^java /.test(p.args));
const describeLinux = process.platform === 'linux' ? describe : describe.skip;

describeLinux('npm start stops cleanly on every signal', () => {
  it('Ctrl-C to the whole group through npm: drains, audits, reports, exits 0 (npm too) and leaves nothing', async () => {
    const run = await start();
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

  it('Ctrl-C to the group without npm (node as the start script runs it): exits 0 after the report', async () => {
    const run = await start({ via: 'node' });
    process.kill(-run.root, 'SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.stdout.slice(run.stdout.indexOf('Up: '))).toContain('no drift');
    expect(await leftAfterStop(run)).toEqual([]);
  }, 240_000);

  it('SIGINT to the npm process alone: npm passes it on, the run drains, audits and exits 0', async () => {
    const run = await start();
    process.kill(run.root, 'SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.stdout.slice(run.stdout.indexOf('Up: '))).toContain('no drift');
    expect(await leftAfterStop(run)).toEqual([]);
  }, 240_000);

  it('Ctrl-C through npm while loading (node busy): the load ends, then it drains, audits and exits 0', async () => {
    const run = await start({ flags: [], readyAt: /^Loading \d+ rows/m });
    process.kill(-run.root, 'SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.stdout).toMatch(/Consistency audit: \d+ documents/);
    expect(run.stdout).toContain('no drift');
    expect(await leftAfterStop(run)).toEqual([]);
  }, 240_000);

  it('SIGTERM to the npm process alone', async () => {
    const run = await start();
    process.kill(run.root, 'SIGTERM');
    const left = await leftAfterStop(run);
    expect(javaOf(left)).toEqual([]);
    expect(left).toEqual([]);
  }, 240_000);

  it('SIGTERM to node (local/start.ts) alone', async () => {
    const run = await start();
    process.kill(run.byArgs(NODE).pid, 'SIGTERM');
    const left = await leftAfterStop(run);
    expect(javaOf(left)).toEqual([]);
    expect(left).toEqual([]);
    await run.exited; // its output read to the end
    expect(run.stderr).toContain('npm start: SIGTERM, stopping now');
  }, 240_000);

  it('SIGHUP to the whole group (the terminal closed)', async () => {
    const run = await start();
    process.kill(-run.root, 'SIGHUP');
    const left = await leftAfterStop(run);
    expect(javaOf(left)).toEqual([]);
    expect(left).toEqual([]);
  }, 240_000);

  it('SIGKILL to node (local/start.ts): the watchdog ends DynamoDB Local', async () => {
    const run = await start();
    process.kill(run.byArgs(NODE).pid, 'SIGKILL');
    const left = await leftAfterStop(run);
    expect(javaOf(left)).toEqual([]);
    expect(left).toEqual([]);
  }, 240_000);

  it('SIGKILL to npm: node sees its starter gone and stops, DynamoDB Local with it', async () => {
    const run = await start();
    process.kill(run.root, 'SIGKILL');
    const left = await leftAfterStop(run);
    expect(javaOf(left)).toEqual([]);
    expect(left).toEqual([]);
  }, 240_000);
});
