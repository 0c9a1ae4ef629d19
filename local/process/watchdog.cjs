#!/usr/bin/env node
// A watchdog for a child that must not outlive the process that started it (DynamoDB Local's
// java under `npm start` and under jest): `node watchdog.cjs <command> [args...]` runs the
// command and ends it once its starter is gone, however the starter ended (SIGKILL, a closed
// terminal, a crashed test runner). Plain CommonJS with no dependencies, so it starts in
// milliseconds with the node that runs the starter; Linux has PR_SET_PDEATHSIG for this, but
// node cannot set it without native code.
//
// The starter is gone when our stdin reaches its end (the starter holds the only write end:
// it closes it to stop the command, and the kernel closes it when the starter dies) or when
// our parent pid changes (we were re-parented). Then the command gets SIGTERM, and SIGKILL
// after GRACE_MS. SIGTERM, SIGINT and SIGHUP sent to the watchdog are passed on to the
// command. The watchdog exits as the command did (its code, or its signal re-raised).
'use strict';
const { spawn } = require('node:child_process');

const GRACE_MS = 3000;
const POLL_MS = 250;

const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('watchdog: usage: node watchdog.cjs <command> [args...]\n');
  process.exit(2);
}

const starter = process.ppid;
// The command keeps our stdout and stderr (the starter's pipes or terminal), not our stdin.
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let ending = false;

// Silent: once the starter is gone, our stderr may be a broken pipe.
function end() {
  if (ending) return;
  ending = true;
  signalChild('SIGTERM');
  setTimeout(() => signalChild('SIGKILL'), GRACE_MS).unref();
}

function signalChild(signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

child.once('error', (error) => {
  process.stderr.write(`watchdog: cannot run ${command}: ${error.message}\n`);
  process.exit(127);
});
child.once('exit', (code, signal) => {
  clearInterval(poll);
  if (signal) {
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.removeAllListeners(s);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});

for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => signalChild(s));

process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
process.stdin.on('end', end);
process.stdin.on('close', end);
process.stdin.on('error', end);
process.stdin.resume();
const poll = setInterval(() => {
  if (process.ppid !== starter) end();
}, POLL_MS);
