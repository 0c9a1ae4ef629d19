#!/usr/bin/env node
// The package's bin (stream-fanout-ops). Runs the compiled CLI when the package was built
// (dist/ops/cli.js); in a clone, registers tsx's CommonJS loader (a dev dependency) and runs
// ops/cli.ts directly.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

function load() {
  const compiled = join(__dirname, '..', 'dist', 'ops', 'cli.js');
  if (existsSync(compiled)) return require(compiled);
  try {
    require('tsx/cjs');
  } catch {
    process.stderr.write('stream-fanout-ops: neither dist/ops/cli.js (npm run build) nor tsx (npm install in a clone) is available\n');
    process.exit(2);
  }
  return require('./cli.ts');
}

const { main } = load();
// The SDK's own switch for its Node-version notice: stderr holds only the CLI's lines.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const controller = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nops: stopping after the pages in flight (Ctrl-C again to abort)\n');
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});
main(process.argv.slice(2), undefined, process.env, controller.signal).then((code) => {
  process.exitCode = code;
});
