/**
 * How npm start reads its stop signals (local/process/stop-signals.ts) and notices a starter
 * gone (local/process/ancestors.ts), in process: signals are emitted on `process` (other
 * listeners set aside meanwhile), a gone starter is a child that has exited.
 */
import { spawnSync } from 'node:child_process';
import { alive, processInfo, runAncestors, watchAncestors } from '../../local/process/ancestors';
import { onStopSignals } from '../../local/process/stop-signals';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let saved: Map<string, NodeJS.SignalsListener[]>;
beforeEach(() => {
  saved = new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
  SIGNALS.forEach((s) => process.removeAllListeners(s));
});
afterEach(() => {
  SIGNALS.forEach((s) => process.removeAllListeners(s));
  saved.forEach((listeners, s) => listeners.forEach((l) => process.on(s as NodeJS.Signals, l)));
});

function record(sameCtrlCMs: number) {
  const calls: string[] = [];
  const off = onStopSignals({ graceful: () => calls.push('graceful'), stopNow: (code, reason) => calls.push(`${code} ${reason}`) }, { sameCtrlCMs, ancestors: [] });
  return { calls, off };
}

it('the first Ctrl-C asks for a graceful stop; its copies (npm relays it) are the same Ctrl-C', () => {
  const { calls, off } = record(60_000);
  process.emit('SIGINT', 'SIGINT');
  process.emit('SIGINT', 'SIGINT');
  process.emit('SIGINT', 'SIGINT');
  off();
  expect(calls).toEqual(['graceful']);
});

it('a later Ctrl-C stops now with 130; SIGTERM 143; SIGHUP 129', () => {
  const { calls, off } = record(0);
  process.emit('SIGINT', 'SIGINT');
  process.emit('SIGINT', 'SIGINT');
  process.emit('SIGTERM', 'SIGTERM');
  process.emit('SIGHUP', 'SIGHUP');
  off();
  expect(calls).toEqual(['graceful', '130 second Ctrl-C', '143 SIGTERM', '129 SIGHUP (terminal closed)']);
  process.emit('SIGTERM', 'SIGTERM'); // off() removed the handlers
  expect(calls).toHaveLength(4);
});

it('watchAncestors reports a watched process that is gone, once', async () => {
  const exited = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const gonePid = Number(exited.stdout.trim());
  expect(alive(gonePid)).toBe(false);
  expect(alive(process.pid)).toBe(true);
  const seen: number[] = [];
  await new Promise<void>((done) => {
    watchAncestors([process.pid, gonePid], (pid) => {
      seen.push(pid);
      done();
    }, 10);
  });
  await new Promise((r) => setTimeout(r, 50)); // no second report
  expect(seen).toEqual([gonePid]);
});

it('without npm above it, only the parent is watched; processInfo reads parent and command line', () => {
  expect(runAncestors({})).toEqual([process.ppid]);
  const me = processInfo(process.pid);
  expect(me).toMatchObject({ ppid: process.ppid, dead: false });
  expect(me!.args).toContain('node');
});

it('under npm, the chain up to npm is watched', () => {
  // Shells between npm and node, as `npm exec` (and `npm start` without exec) runs a command.
  const probe = "const a = require('./local/process/ancestors.ts'); const chain = a.runAncestors(); console.log(JSON.stringify({ parent: process.ppid, chain, top: a.processInfo(chain[chain.length - 1]).args }))";
  const run = spawnSync('npm', ['exec', '--yes', '--', 'sh', '-c', `${JSON.stringify(process.execPath)} --import tsx -e ${JSON.stringify(probe)}`], { encoding: 'utf8', env: { ...process.env, npm_lifecycle_event: 'start' } });
  const { parent, chain, top } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { parent: number; chain: number[]; top: string };
  expect(chain[0]).toBe(parent);
  expect(chain.length).toBeGreaterThan(1);
  expect(top).toMatch(/^npm exec /);
}, 60_000);
