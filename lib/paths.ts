import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The package's root (where lambda/ and package.json are): lib/ when run from source (tsx,
 * ts-jest), dist/lib/ when a consuming CDK app loads the compiled package.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'lambda', 'subsystems.ts'))) return dir;
    if (dirname(dir) === dir) throw new Error(`ddb-stream-fanout: no package root (package.json and lambda/) above ${from}`);
  }
}
