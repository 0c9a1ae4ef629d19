/**
 * Children that must not outlive this process: each runs under local/process/watchdog.cjs,
 * in a process group of its own (so a terminal's Ctrl-C reaches only us, and we decide when
 * it stops). The watchdog ends the command once this process is gone, however it ended,
 * SIGKILL included; while we live, `stop` asks it to end the command and `killNow` ends the
 * whole group at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const WATCHDOG = join(__dirname, 'watchdog.cjs');

export interface WatchedProcess {
  /** The watchdog; its pid is the process group's id (the command runs in the same group). */
  readonly child: ChildProcess;
  readonly pgid: number;
  /** Resolves once the watchdog exited (after the command did). */
  readonly exited: Promise<void>;
  running(): boolean;
  /** Closes the watchdog's stdin (it then sends SIGTERM, and SIGKILL after 3 s); SIGKILL to the group after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the whole group, synchronously (for process.on('exit'), where nothing async runs). */
  killNow(): void;
}

export function spawnWatched(command: string, args: readonly string[], options: { cwd?: string } = {}): WatchedProcess {
  // stdin is the lifeline: only this process holds its write end.
  const child = spawn(process.execPath, [WATCHDOG, command, ...args], { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  child.stdin!.on('error', () => undefined); // EPIPE when the watchdog is already gone
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone
    }
  };
  return {
    child,
    pgid: child.pid!,
    exited,
    running,
    stop: async (graceMs = 5_000) => {
      if (!running()) return;
      child.stdin!.end();
      const killer = setTimeout(() => killGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
    killNow: () => {
      if (running()) killGroup('SIGKILL');
    },
  };
}
