import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const PACKAGE_NAME = 'ddb-stream-fanout';

/**
 * The package's root (its package.json): above lib/ when run from source (tsx, ts-jest), above
 * dist/lib/ when a consuming CDK app loads the installed package.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
    if (dirname(dir) === dir) throw new Error(`${PACKAGE_NAME}: no package root (its package.json) above ${from}`);
  }
}
