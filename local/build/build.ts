/**
 * `npm run build` (also run by `prepack`): everything the package ships, made from scratch.
 * - dist/: lib/ and ops/ compiled with declarations (tsconfig.build.json), plus the lambda/
 *   modules they import (key rules, metric names);
 * - bundles/<name>/index.js (+ index.js.map) for every FUNCTION_NAMES entry, bundled by
 *   buildFunctionBundle with BUNDLE: the same call a synth in this repository makes and the
 *   options npm run bench measures. An installed construct deploys these as they are.
 * Each folder is built beside the old one and swapped in, so a failed build leaves no half.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BUNDLE, buildFunctionBundle } from '../../lib/bundling';
import { BUNDLES_DIR } from '../../lib/function-code';
import { FUNCTION_NAMES } from '../../lib/function-names';

const ROOT = resolve(__dirname, '..', '..');

/** Bundles every function into outDir/<name>/; returns each bundle's size in bytes. */
export function buildBundles(outDir: string): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const name of FUNCTION_NAMES) {
    buildFunctionBundle(name, join(outDir, name), BUNDLE);
    sizes[name] = statSync(join(outDir, name, 'index.js')).size;
  }
  return sizes;
}

/** Compiles lib/ and ops/ into outDir with tsc; throws with tsc's output when it fails. */
export function compile(outDir: string): void {
  const tsc = require.resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`tsc failed:\n${run.stdout}${run.stderr}`);
}

function swapIn(building: string, target: string): void {
  rmSync(target, { recursive: true, force: true });
  renameSync(building, target);
}

function main(): void {
  const dist = join(ROOT, 'dist');
  const bundles = join(ROOT, BUNDLES_DIR);
  for (const dir of [`${dist}.building`, `${bundles}.building`]) rmSync(dir, { recursive: true, force: true });
  compile(`${dist}.building`);
  const sizes = buildBundles(`${bundles}.building`);
  // Only entries from FUNCTION_NAMES: a stray folder would ship a bundle nothing deploys.
  const built = readdirSync(`${bundles}.building`).sort();
  if (built.join() !== [...FUNCTION_NAMES].sort().join()) throw new Error(`bundles/ holds ${built.join(', ')}, expected ${FUNCTION_NAMES.join(', ')}`);
  swapIn(`${dist}.building`, dist);
  swapIn(`${bundles}.building`, bundles);
  const kb = (bytes: number) => `${Math.round(bytes / 1024)} KB`;
  console.log(`built dist/ and ${BUNDLES_DIR}/: ${Object.entries(sizes).map(([name, bytes]) => `${name} ${kb(bytes)}`).join(', ')}`);
  if (!existsSync(join(dist, 'lib', 'index.js'))) throw new Error('dist/lib/index.js is missing after tsc');
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`build: ${(error as Error).message}`);
    process.exit(1);
  }
}
