/**
 * local/process/watchdog.cjs and spawnWatched: the command ends when its starter closes the
 * lifeline or dies (SIGKILL included), signals pass on, exit status passes back. The last
 * test kills a process that started DynamoDB Local as jest's global setup does. Linux (/proc) only.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnWatched } from '../../local/process/watched-spawn';

const ROOT = join(__dirname, '..', '..');
/** How long a command may outlive its starter. */
const WITHIN_MS = 10_000;

/** Live (non-zombie) processes whose parent is `ppid`, or whose command line matches. */
function live(filter: (p: { pid: number; ppid: number; args: string }) => boolean): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (state !== 'Z' && filter({ pid: Number(name), ppid: Number(ppid), args })) found.push(Number(name));
    } catch {
      // gone while we looked
    }
  }
  return found;
}

/** Waits (polling, up to 30 s on a loaded machine) until a matching process runs. */
async function appears(filter: Parameters<typeof live>[0]): Promise<number[]> {
  const deadline = Date.now() + 30_000;
  while (live(filter).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return live(filter);
}

async function gone(filter: Parameters<typeof live>[0]): Promise<number[]> {
  const deadline = Date.now() + WITHIN_MS;
  while (live(filter).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return live(filter);
}

const killAll = (pids: number[]) => pids.forEach((pid) => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
const marker = () => `${30_000 + Math.floor(Math.random() * 1_000_000)}`;
const describeLinux = process.platform === 'linux' ? describe : describe.skip;
const started: ReturnType<typeof spawnWatched>[] = [];
const watched = (command: string, args: string[]) => {
  const w = spawnWatched(command, args);
  started.push(w);
  return w;
};
afterEach(() => started.splice(0).forEach((w) => w.killNow()));

describeLinux('watchdog', () => {
  it('passes the exit code of the command back', async () => {
    const w = watched('sh', ['-c', 'exit 7']);
    await w.exited;
    expect(w.child.exitCode).toBe(7);
  });

  it('stop() closes the lifeline: the command gets SIGTERM and the watchdog ends as it did', async () => {
    const m = marker();
    const w = watched('sleep', [m]);
    const sleeper = await appears((p) => p.ppid === w.pgid && p.args === `sleep ${m}`);
    expect(sleeper).toHaveLength(1);
    await w.stop();
    expect(w.child.signalCode).toBe('SIGTERM');
    expect(live((p) => p.pid === sleeper[0])).toEqual([]);
  });

  it('passes SIGTERM on to the command', async () => {
    const m = marker();
    const w = watched('sleep', [m]);
    expect(await appears((p) => p.args === `sleep ${m}`)).toHaveLength(1);
    process.kill(w.pgid, 'SIGTERM'); // the watchdog alone, not its group
    await w.exited;
    expect(await gone((p) => p.args === `sleep ${m}`)).toEqual([]);
  });

  it('ends the command when its starter is SIGKILLed', async () => {
    const m = marker();
    const starter = spawn(process.execPath, ['-e', `require('tsx/cjs'); require(${JSON.stringify(join(ROOT, 'local/process/watched-spawn.ts'))}).spawnWatched('sleep', ['${m}']); setInterval(() => undefined, 1000)`], { cwd: ROOT, stdio: 'ignore' });
    try {
      expect(await appears((p) => p.args === `sleep ${m}`)).toHaveLength(1);
      starter.kill('SIGKILL');
      expect(await gone((p) => p.args === `sleep ${m}`)).toEqual([]);
    } finally {
      killAll(live((p) => p.args.includes(`sleep ${m}`)));
    }
  }, 60_000);

  it('a SIGKILLed process that started DynamoDB Local (as jest does) leaves no java', async () => {
    const starter = spawn(process.execPath, ['-e', `require('tsx/cjs'); require(${JSON.stringify(join(ROOT, 'local/dynamodb-local.ts'))}).startDynamoDbLocal().then((d) => console.log('port', d.port)); setInterval(() => undefined, 1000)`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const port = await new Promise<string>((up, fail) => {
      starter.stdout!.on('data', (d) => {
        out += d;
        const found = /port (\d+)/.exec(out);
        if (found) up(found[1]!);
      });
      starter.once('exit', () => fail(new Error(`exited before DynamoDB Local was up: ${out}`)));
    });
    const java = (p: { args: string }) => /^java .*DynamoDBLocal\.jar/.test(p.args) && p.args.includes(`-port ${port}`);
    try {
      expect(live(java)).toHaveLength(1);
      starter.kill('SIGKILL');
      expect(await gone(java)).toEqual([]);
    } finally {
      killAll(live(java));
    }
  }, 90_000);
});
