/**
 * The four kinds of code stay apart (infrastructure lib/, runtime lambda/, local tooling
 * local/, operations ops/): what ships (lib, lambda, ops) never imports the local tooling,
 * and local/ files stay small enough to hold one job each.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []));
const importsOf = (file: string) => [...readFileSync(join(ROOT, file), 'utf8').matchAll(/(?:from\s+|require\(\s*|import\(\s*|^import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]!);

describe('code layout', () => {
  it.each(['lib', 'lambda', 'ops'])('nothing in %s/ imports local/', (dir) => {
    const offenders = sources(dir).flatMap((f) => importsOf(f).filter((p) => /(^|\/)local(\/|$)/.test(p)).map((p) => `${f} -> ${p}`));
    expect(offenders).toEqual([]);
  });

  it('every local/ file stays under ~300 lines', () => {
    const long = sources('local').map((f) => [f, readFileSync(join(ROOT, f), 'utf8').split('\n').length] as const).filter(([, n]) => n > 320);
    expect(long).toEqual([]);
  });
});
