#!/usr/bin/env node
// The package's bin (stream-fanout-ops): the CLI is TypeScript, so register tsx's CommonJS
// loader (a dependency of this repository) and run ops/cli.ts as the main module would.
require('tsx/cjs');
const { dropSdkNodeVersionWarning } = require('./common.ts');
const { main } = require('./cli.ts');
dropSdkNodeVersionWarning();
const controller = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nops: stopping after the pages in flight (Ctrl-C again to abort)\n');
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});
main(process.argv.slice(2), undefined, process.env, controller.signal).then((code) => {
  process.exitCode = code;
});
