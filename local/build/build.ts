/**
 * `npm run build` (also run by `prepack`): everything the package ships, made from scratch.
 * - dist/: lib/ and ops/ compiled with declarations (tsconfig.build.json), plus the lambda/
 *   modules they import (key rules, metric names); files tsc emitted for a type-only import,
 *   which neither the code nor the public declarations load, are left out;
 * - bundles/<name>/index.js (+ index.js.map) for every FUNCTION_NAMES entry, bundled by
 *   buildFunctionBundle with BUNDLE: the same call a synth in this repository makes and the
 *   options npm run bench measures. An installed construct deploys these as they are.
 * Each folder is built beside the old one and swapped in, so a failed build leaves no half.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { BUNDLE, buildFunctionBundle } from '../../lib/bundling';
import { BUNDLES_DIR } from '../../lib/function-code';
import { FUNCTION_NAMES } from '../../lib/function-names';
import { moduleGraph } from './module-graph';

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

/**
 * Removes what nothing can load from the package's entry points (dist/lib/index and
 * dist/ops/cli): a module neither required at runtime nor imported by a reachable declaration
 * (tsc emits both files for a type-only import). Keeps a module's .js and .d.ts together.
 * Returns the removed paths, relative to outDir.
 */
export function pruneUnreachable(outDir: string): string[] {
  const entries = ['lib/index', 'ops/cli'].map((entry) => join(outDir, entry));
  const reached = new Set([
    ...moduleGraph(entries.map((e) => `${e}.js`), 'js').files,
    ...moduleGraph(entries.map((e) => `${e}.d.ts`), 'dts').files,
  ]);
  const module = (file: string) => file.replace(/\.d\.ts$|\.js$/, '');
  const kept = new Set([...reached].map(module));
  const removed: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (!kept.has(module(path))) {
        rmSync(path);
        removed.push(relative(outDir, path));
      }
    }
  };
  walk(outDir);
  return removed.sort();
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
  if (!existsSync(join(`${dist}.building`, 'lib', 'index.js'))) throw new Error('tsc wrote no dist/lib/index.js');
  pruneUnreachable(`${dist}.building`);
  const sizes = buildBundles(`${bundles}.building`);
  swapIn(`${dist}.building`, dist);
  swapIn(`${bundles}.building`, bundles);
  const kb = (bytes: number) => `${Math.round(bytes / 1024)} KB`;
  console.log(`built dist/ and ${BUNDLES_DIR}/: ${Object.entries(sizes).map(([name, bytes]) => `${name} ${kb(bytes)}`).join(', ')}`);
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`build: ${(error as Error).message}`);
    process.exit(1);
  }
}
