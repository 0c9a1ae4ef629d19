#!/usr/bin/env node
// The package's bin (stream-fanout-ops). In a clone (ops/cli.ts next to this file), runs the
// source through tsx's CommonJS loader (a dev dependency), so a dist/ left by an earlier build
// never runs stale code; in an installed package (only dist/ and this file ship), runs the
// compiled CLI (dist/ops/cli.js).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

function hasTsx() {
  try {
    require.resolve('tsx/cjs');
    return true;
  } catch {
    return false;
  }
}

function load() {
  const source = join(__dirname, 'cli.ts');
  const compiled = join(__dirname, '..', 'dist', 'ops', 'cli.js');
  if (existsSync(source) && hasTsx()) {
    require('tsx/cjs');
    return require(source);
  }
  if (existsSync(compiled)) return require(compiled);
  process.stderr.write('ops: could not run: neither tsx (npm install in a clone) nor dist/ops/cli.js (npm run build) is available\n');
  process.exit(3);
}

// The SDK's own switch for its Node-version notice: stderr holds only the CLI's lines.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = load();
const controller = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nops: stopping after the pages in flight (Ctrl-C again to abort)\n');
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});
main(process.argv.slice(2), undefined, process.env, controller.signal).then((code) => {
  process.exitCode = code;
});
