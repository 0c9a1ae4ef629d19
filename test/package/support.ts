import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

/**
 * The environment for npm and the CDK CLI in a child process: without the npm_* variables an
 * `npm test` run sets (npm reads npm_config_* as its own configuration, e.g. the prefix), and
 * with instance metadata off, so nothing waits on a credential lookup.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true' };
}

/** Runs a command; throws with its output unless it exits 0. */
export function run(command: string, args: string[], options: SpawnSyncOptions & { cwd: string }): string {
  const result = spawnSync(command, args, { env: childEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0) {
    // The ends of the output: a CDK error prints the minified line it came from before its message.
    const tail = (text: unknown) => String(text ?? '').slice(-4000);
    throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) exited ${result.status ?? result.signal}:\n${tail(result.stdout)}\n${tail(result.stderr)}`);
  }
  return String(result.stdout);
}

/**
 * This working tree as a fresh clone would have it (tracked and new files, nothing git ignores:
 * no dist/, bundles/, .cache/ or node_modules/), with this repository's node_modules linked in.
 * Packing the copy leaves the shared tree's dist/ and bundles/ alone.
 */
export function copyWorkingTree(dest: string): void {
  const listed = run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT }).split('\0').filter(Boolean);
  for (const path of listed) {
    const from = join(ROOT, path);
    if (!existsSync(from) || !statSync(from).isFile()) continue; // deleted but still in the index
    mkdirSync(dirname(join(dest, path)), { recursive: true });
    copyFileSync(from, join(dest, path));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dest, 'node_modules'), 'dir');
}

export interface PackResult {
  readonly tarball: string;
  /** Tarball size in bytes. */
  readonly size: number;
  readonly files: string[];
}

/** `npm pack --json` output (after any lifecycle output on stdout, e.g. the build's summary line). */
export function parsePack(stdout: string, destination: string): PackResult {
  const start = stdout.search(/^\[/m);
  if (start < 0) throw new Error(`npm pack printed no JSON:\n${stdout}`);
  const [pack] = JSON.parse(stdout.slice(start)) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
  return { tarball: join(destination, pack!.filename), size: pack!.size, files: pack!.files.map((f) => f.path).sort() };
}
