import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * How a Lambda entry is bundled, as plain data: the CDK functions (lib/stream-function.ts),
 * the bundle benchmark (bench/bundles.ts) and the Node 22 load test (test/bundles) all read it,
 * so what we measure is what we deploy.
 */
export interface BundleSettings {
  readonly minify: boolean;
  /** esbuild target, matching the Lambda runtime. */
  readonly target: string;
  readonly format: 'cjs' | 'esm';
  /** package.json fields esbuild resolves, in order ('module' reads the SDK's ESM build). */
  readonly mainFields: readonly string[];
  /**
   * 'none': no map at all; 'external': a .js.map next to the bundle, no sourceMappingURL
   * comment (kept as a build artifact to map traces offline); 'linked': .js.map plus the comment.
   */
  readonly sourceMap: 'none' | 'external' | 'linked';
  /** NODE_OPTIONS=--enable-source-maps: traces mapped at runtime, paid for on every cold start. */
  readonly enableSourceMaps: boolean;
  /** Modules left to the runtime; empty: the pinned SDK is bundled (the runtime's copy changes under us). */
  readonly externalModules: readonly string[];
}

/** The options the functions were deployed with before issue 12 §5 (the benchmark's baseline). */
export const NAIVE_BUNDLE: BundleSettings = {
  minify: true,
  target: 'node22',
  format: 'cjs',
  mainFields: ['main', 'module'],
  sourceMap: 'linked',
  enableSourceMaps: true,
  externalModules: [],
};

/** The options the functions are deployed with. */
export const BUNDLE: BundleSettings = NAIVE_BUNDLE;

/** CDK NodejsFunction bundling options for the settings. */
export function cdkBundling(settings: BundleSettings = BUNDLE): BundlingOptions {
  return {
    minify: settings.minify,
    target: settings.target,
    format: settings.format === 'esm' ? OutputFormat.ESM : OutputFormat.CJS,
    mainFields: [...settings.mainFields],
    sourceMap: settings.sourceMap !== 'none',
    ...(settings.sourceMap === 'none'
      ? {}
      : { sourceMapMode: settings.sourceMap === 'external' ? SourceMapMode.EXTERNAL : SourceMapMode.DEFAULT }),
    externalModules: [...settings.externalModules],
  };
}

/** The function environment the settings need (merged into the function's own). */
export function bundleEnvironment(settings: BundleSettings = BUNDLE): Record<string, string> {
  return settings.enableSourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {};
}
