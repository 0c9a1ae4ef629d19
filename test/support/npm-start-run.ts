/**
 * `npm start -- --keep-running` as a terminal runs it (its own process group), for tests that
 * signal it or talk to it; and the processes on this machine as /proc lists them (Linux only).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** local/start.ts's node, as the start script runs it (`node --import tsx local/start.ts`). */
export const NODE = /^\S*node --import tsx local\/start\.ts /;

export interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly state: string;
  readonly args: string;
}

export function processes(): Proc[] {
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

export interface Run {
  /** npm's (or node's, without npm) pid: the run's process group. */
  readonly root: number;
  readonly ddbGroup: number;
  /** DynamoDB Local's port. */
  readonly port: number;
  readonly failureDir: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly exited: Promise<number | null>;
  /** The root's pipes are drained and closed (all its output read). */
  readonly closed: Promise<void>;
  /** What runs now: the run's group, DynamoDB Local's group, and any java on its port (zombies excluded). */
  left(): Proc[];
  byArgs(pattern: RegExp): Proc;
  /** SIGKILL to whatever of the run is left; removes the failure folder. */
  cleanup(): void;
}

export interface RunOptions {
  /** `npm start` (npm, then node), or node as the start script runs it, without npm. Default npm. */
  readonly via?: 'npm' | 'node';
  readonly env?: NodeJS.ProcessEnv;
  /** Default: --keep-running on a small generated dataset. */
  readonly flags?: readonly string[];
  /** The output line the run is ready at. Default: its "Up:" line. */
  readonly readyAt?: RegExp;
}

/** Starts the run in its own process group, as a terminal runs a foreground job, and waits until it is ready. */
export async function startRun(o: RunOptions = {}): Promise<Run> {
  const failureDir = mkdtempSync(join(tmpdir(), 'npm-start-run-'));
  const flags = [...(o.flags ?? ['--keep-running', '--records', '40']), '--failure-dir', failureDir];
  const [command, args] = (o.via ?? 'npm') === 'npm' ? ['npm', ['start', '--silent', '--', ...flags]] : [process.execPath, ['--import', 'tsx', 'local/start.ts', ...flags]];
  const child = spawn(command, args, { cwd: ROOT, env: o.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const readyAt = o.readyAt ?? /^Up: /m;
  // 'exit' can come before the last output is read; 'close' once the pipes are drained and shut.
  const closed = new Promise<void>((done) => child.once('close', () => done()));
  // Exited, with its output read to the end: 'close' (or, should something of the run still
  // hold a pipe open, 15 s after 'exit'; the tests then find that process left over).
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      const timer = setTimeout(() => done(code), 15_000);
      void closed.then(() => {
        clearTimeout(timer);
        done(code);
      });
    }),
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const ours = (p: Proc, ddbGroup: number, port: number) => p.state !== 'Z' && (p.pgid === child.pid || p.pgid === ddbGroup || (/DynamoDBLocal\.jar/.test(p.args) && p.args.includes(`-port ${port}`)));
  let ddbGroup = -1;
  let port = -1;
  const left = () => processes().filter((p) => ours(p, ddbGroup, port));
  const cleanup = () => {
    for (const p of left()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(failureDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((up, fail) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (readyAt.test(stdout)) up();
      });
      child.once('exit', () => fail(new Error(`exited before up:\n${stdout}\n${stderr}`)));
    });
    ddbGroup = Number(/DynamoDB Local is up at \S+ \(process group (\d+)\)/.exec(stdout)![1]);
    port = Number(/DynamoDB Local is up at http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)![1]);
  } catch (error) {
    cleanup();
    throw error;
  }
  const byArgs = (pattern: RegExp) => {
    const found = left().find((p) => pattern.test(p.args));
    if (!found) throw new Error(`no process matching ${pattern} in the run: ${JSON.stringify(left())}`);
    return found;
  };
  // The run is whole: java on its port, under the watchdog, in its own group.
  expect(byArgs(/^java .*DynamoDBLocal\.jar/).pgid).toBe(ddbGroup);
  expect(byArgs(/watchdog\.cjs java/).pid).toBe(ddbGroup);
  return {
    root: child.pid!,
    ddbGroup,
    port,
    failureDir,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    closed,
    left,
    byArgs,
    cleanup,
  };
}
