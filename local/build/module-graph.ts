import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';

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
 * Follows the literal `require(...)` calls of compiled JavaScript (`kind: 'js'`), or the imports
 * of declaration files (`'dts'`), from the entries; relative specifiers resolve to files, which
 * must exist. What neither graph reaches from the package's entry points, nothing can load.
 */
export function moduleGraph(entries: string[], kind: 'js' | 'dts'): ModuleGraph {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const pattern = kind === 'js' ? /\brequire\((["'])([^"']+)\1\)/g : /(?:\bfrom |\bimport\()(["'])([^"']+)\1/g;
  const candidates = (base: string) => (kind === 'js' ? [base, `${base}.js`, join(base, 'index.js')] : [`${base}.d.ts`, join(base, 'index.d.ts')]);
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const [, , specifier] of readFileSync(file, 'utf8').matchAll(pattern)) {
      if (specifier!.startsWith('.')) {
        const base = resolve(dirname(file), specifier!);
        const found = candidates(base).find((c) => existsSync(c) && statSync(c).isFile());
        if (!found) throw new Error(`${file} imports ${specifier}, which is not there`);
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
