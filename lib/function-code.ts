import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FunctionName } from './function-names';
import { packageRoot } from './paths';

/** Where `npm run build` puts each function's bundle (index.js, index.js.map), relative to the package root. */
export const BUNDLES_DIR = 'bundles';

/**
 * A function's deployment package, which needs nothing at the consumer's synth (no esbuild,
 * no Docker, no lock file, no TypeScript):
 * - installed package: the prebuilt bundle `bundles/<name>/`, as `npm run build` made it;
 * - this repository (the entry's TypeScript is there): the entry bundled at synth, in process,
 *   by the same function and options the build uses, so `cdk synth` never deploys a stale
 *   bundle. Asset hash: the bundle's bytes.
 */
export function functionCode(name: FunctionName, root: string = packageRoot()): lambda.Code {
  const entry = join(root, 'lambda', name, 'index.ts');
  if (existsSync(entry)) {
    return lambda.Code.fromAsset(join(root, 'lambda', name), {
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never pulled: local bundling below always bundles or throws.
        image: DockerImage.fromRegistry('scratch'),
        local: {
          tryBundle(outputDir: string) {
            // Loaded here: only a repository synth bundles (and has esbuild, a dev dependency).
            (require('./bundling') as typeof import('./bundling')).buildFunctionBundle(name, outputDir);
            return true;
          },
        },
      },
    });
  }
  const bundle = join(root, BUNDLES_DIR, name);
  if (!existsSync(join(bundle, 'index.js'))) {
    throw new Error(`ddb-stream-fanout: no bundle for ${name}: ${join(bundle, 'index.js')} is missing (run npm run build in the package)`);
  }
  return lambda.Code.fromAsset(bundle);
}
