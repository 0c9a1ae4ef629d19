/**
 * The processes a run was started through, and a watch that reports when one of them is gone.
 * `npm start` runs as npm, then (unless the script execs) sh, then this node; run through
 * the tsx CLI, tsx's node sits above it too. npm passes only SIGINT and SIGTERM on, sh passes
 * on nothing and dies of them, and a killed npm, sh or tsx leaves its child running: so this
 * node watches the chain itself and stops when any link is gone, rather than running on
 * under PID 1.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface ProcessInfo {
  readonly ppid: number;
  /** Zombie: dead, not yet reaped by its parent. */
  readonly dead: boolean;
  readonly args: string;
}

/** Linux's /proc, else `ps` (macOS); undefined when the process is gone. */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { ppid: Number(ppid), dead: state === 'Z' || state === 'X', args };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return psInfo(pid);
    return process.platform === 'linux' ? undefined : psInfo(pid);
  }
}

function psInfo(pid: number): ProcessInfo | undefined {
  const ps = spawnSync('ps', ['-o', 'ppid=,stat=,args=', '-p', String(pid)], { encoding: 'utf8' });
  const match = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(ps.stdout ?? '');
  return match ? { ppid: Number(match[1]), dead: match[2]!.startsWith('Z'), args: match[3]!.trim() } : undefined;
}

/** Running and not a zombie (a zombie only on Linux: elsewhere a signal-0 probe, which a zombie passes). */
export function alive(pid: number): boolean {
  if (process.platform === 'linux') return processInfo(pid)?.dead === false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** npm names itself "npm <command> ..." (its process title). */
const isNpm = (args: string) => /^(\S*\/)?npm(-cli\.js)?( |$)/.test(args) || /\/npm-cli\.js( |$)/.test(args);

/**
 * Our parent and, when npm ran us (npm_lifecycle_event is set), each process above it up to
 * and including npm (at most `maxDepth` links).
 */
export function runAncestors(env: NodeJS.ProcessEnv = process.env, maxDepth = 4): number[] {
  const chain = [process.ppid];
  if (env.npm_lifecycle_event === undefined) return chain;
  const found: number[] = [];
  let pid = process.ppid;
  for (let depth = 0; depth < maxDepth && pid > 1; depth += 1) {
    const info = processInfo(pid);
    if (!info) break;
    found.push(pid);
    if (isNpm(info.args)) return found;
    pid = info.ppid;
  }
  return chain; // no npm above us: watch the parent only
}

/**
 * Calls `onGone` once, when our parent changed (we were re-parented) or any of `pids` is gone
 * or a zombie. The timer does not keep the process alive. Returns a function that stops the watch.
 */
export function watchAncestors(pids: readonly number[], onGone: (pid: number) => void, intervalMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    const gone = process.ppid !== parent ? parent : pids.find((pid) => !alive(pid));
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(gone);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
