import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';

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

const BUILTINS = new Set(builtinModules);

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or undefined for a Node builtin. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || BUILTINS.has(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

export interface ModuleGraph {
  /** Files reached from the entries. */
  readonly files: Set<string>;
  /** Package name to a file that imports it. */
  readonly packages: Map<string, string>;
}

/**
 * Follows the literal `require("...")` calls of compiled JavaScript, or the imports of
 * declaration files, from the entries; relative paths resolve within the package.
 */
export function moduleGraph(entries: string[], kind: 'js' | 'dts'): ModuleGraph {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const pattern = kind === 'js' ? /require\("([^"]+)"\)/g : /(?:from |import\()["']([^"']+)["']/g;
  const candidates = (base: string) => (kind === 'js' ? [base, `${base}.js`, join(base, 'index.js')] : [`${base}.d.ts`, join(base, 'index.d.ts')]);
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(pattern)) {
      if (specifier!.startsWith('.')) {
        const base = resolve(dirname(file), specifier!);
        const found = candidates(base).find((c) => existsSync(c) && statSync(c).isFile());
        if (!found) throw new Error(`${file} imports ${specifier}, which the package does not contain`);
        visit(found);
      } else {
        const name = packageOf(specifier!);
        if (name && !packages.has(name)) packages.set(name, file);
      }
    }
  };
  entries.forEach(visit);
  return { files, packages };
}
