import type { BuildOptions, BuildResult } from 'esbuild';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { FunctionName } from './function-names';

const ROOT = join(__dirname, '..');

/**
 * How a Lambda entry is bundled, as plain data: `npm run build` (the bundles the package
 * ships), a synth in this repository (StreamFunction bundles from source), the bundle
 * benchmark and the Node 22 load test all read it, so what we measure is what we deploy.
 * Repository-only: an installed package deploys the prebuilt bundles and never loads esbuild.
 */
export interface BundleSettings {
  readonly minify: boolean;
  /** esbuild target, matching the Lambda runtime. */
  readonly target: string;
  readonly format: 'cjs' | 'esm';
  /** package.json fields esbuild resolves, in order ('module' reads the SDK's ESM build). */
  readonly mainFields: readonly string[];
  /**
   * 'none': no map; 'external': a .js.map next to the bundle without a sourceMappingURL
   * comment (kept to map traces offline); 'linked': .js.map plus the comment.
   */
  readonly sourceMap: 'none' | 'external' | 'linked';
  /** NODE_OPTIONS=--enable-source-maps: traces mapped at runtime, paid for on every cold start. */
  readonly enableSourceMaps: boolean;
  /** Modules left to the runtime; empty: the pinned SDK is bundled (the runtime's copy changes under us). */
  readonly externalModules: readonly string[];
  /** Module replacements: package name to a file relative to the project root. */
  readonly alias: Readonly<Record<string, string>>;
}

/** The options the functions were deployed with before 0.2.0 (the benchmark's baseline). */
export const NAIVE_BUNDLE: BundleSettings = {
  minify: true,
  target: 'node22',
  format: 'cjs',
  mainFields: ['main', 'module'],
  sourceMap: 'linked',
  enableSourceMaps: true,
  externalModules: [],
  alias: {},
};

/**
 * The options the functions are deployed with (figures in BENCHMARKS.md, `npx tsx bench/bundles.ts`):
 * - the SDK's and Powertools' ESM builds ('module' first): esbuild tree-shakes them, the CJS
 *   builds it cannot (e.g. bowser, pulled in by the CJS user-agent code);
 * - the environment-only credential provider (lambda/shared/env-credentials.ts) instead of the
 *   default chain, which Lambda never gets past its first link;
 * - an external source map and no --enable-source-maps: the flag made Node parse the map on every
 *   cold start. Logged stack traces then point into the minified bundle (`at u (index.js:6:29409)`;
 *   errors about a record still name its eventID, PK and SK); the index.js.map beside it (cdk.out,
 *   or the deployed package) maps a frame offline with Node's own SourceMap:
 *   `node -e 'const {SourceMap}=require("node:module"); const m=new SourceMap(JSON.parse(require("fs").readFileSync("index.js.map","utf8"))); console.log(m.findOrigin(6, 29409))'`
 */
export const BUNDLE: BundleSettings = {
  ...NAIVE_BUNDLE,
  mainFields: ['module', 'main'],
  sourceMap: 'external',
  enableSourceMaps: false,
  alias: { '@aws-sdk/credential-provider-node': './lambda/shared/env-credentials.ts' },
};

/** The function environment the settings need (merged into the function's own). */
export function bundleEnvironment(settings: BundleSettings = BUNDLE): Record<string, string> {
  return settings.enableSourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {};
}

/** The settings as esbuild options for one entry (buildFunctionBundle runs them; the benchmark too). */
export function esbuildOptions(settings: BundleSettings, entry: string, outfile: string): BuildOptions {
  const sourcemap = { none: false, external: 'external', linked: 'linked' } as const;
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: settings.target,
    format: settings.format,
    minify: settings.minify,
    mainFields: [...settings.mainFields],
    sourcemap: sourcemap[settings.sourceMap],
    external: [...settings.externalModules],
    alias: Object.fromEntries(Object.entries(settings.alias).map(([name, file]) => [name, join(ROOT, file)])),
    metafile: true,
    logLevel: 'silent',
  };
}

/**
 * Bundles one function (`lambda/<name>/index.ts`) into `outDir/index.js` (+ `index.js.map`)
 * with the settings: what `npm run build` ships and what a synth in this repository deploys.
 * esbuild is loaded here, on use, so the compiled construct never needs it.
 */
export function buildFunctionBundle(name: FunctionName, outDir: string, settings: BundleSettings = BUNDLE): BuildResult {
  const { buildSync } = require('esbuild') as typeof import('esbuild');
  const result = buildSync(esbuildOptions(settings, join(ROOT, 'lambda', name, 'index.ts'), join(outDir, 'index.js')));
  // A warning (e.g. import.meta in a CJS bundle) is a bug in the bundle, not noise.
  if (result.warnings.length > 0) {
    throw new Error(`bundling ${name}: ${result.warnings.map((w) => `${w.location?.file ?? ''}: ${w.text}`).join('; ')}`);
  }
  rootRelativeSources(join(outDir, 'index.js.map'));
  return result;
}

/**
 * esbuild names a map's sources relative to the output folder, so the same bundle built in
 * bundles/ and in cdk.out differed in its map (and its asset hash). Relative to the project
 * root instead (`lambda/...`, `node_modules/...`), the map is the same wherever it is built;
 * it still carries every source's content, so it maps a frame without the sources at hand.
 */
function rootRelativeSources(mapFile: string): void {
  if (!existsSync(mapFile)) return;
  const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[] };
  map.sources = map.sources.map((source) => relative(ROOT, resolve(dirname(mapFile), source)).split(sep).join('/'));
  writeFileSync(mapFile, JSON.stringify(map));
}
