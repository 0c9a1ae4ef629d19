import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_ENTRIES, buildBundle, lambdaEnv, loadBundle, requiredEnv } from '../../bench/bundles';
import { BUNDLE } from '../../lib/bundling';
import { ensureNode22, node22Unavailable } from '../../local/node22';

/**
 * The deployed bundles (lib/bundling.ts BUNDLE), built from source and loaded on Node 22, the
 * Lambda runtime's version: each exports a handler function with only its environment set, and
 * fails at load naming a required variable that is missing. Sizes and times are the bench's.
 */
const skip = node22Unavailable();
/** What DESIGN §7 says each entry checks at init (the scan may find more). */
const KNOWN_REQUIRED: Record<string, string[]> = {
  'typesense-sync': ['TYPESENSE_QUEUE_URL'],
  'image-sync': ['TABLE_NAME'],
  'faa-matcher-sync': ['TABLE_NAME'],
  'typesense-indexer': ['TABLE_NAME'],
};
if (skip) console.log(`skipped: ${skip}`);

(skip ? describe.skip : describe)('Lambda bundles on Node 22', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bundles-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every entry bundles cleanly, loads with its handler and names a missing required variable', () => {
    const node = ensureNode22();
    expect(BUNDLE_ENTRIES).toEqual(expect.arrayContaining(['typesense-sync', 'image-sync', 'faa-matcher-sync']));
    for (const entry of BUNDLE_ENTRIES) {
      const bundle = buildBundle(entry, BUNDLE, dir);
      expect({ entry, warnings: bundle.warnings, duplicates: bundle.duplicates }).toEqual({ entry, warnings: [], duplicates: [] });
      // The options did what they are for: no default credential chain (STS/SSO clients), no CJS-only SDK code.
      expect(bundle.packages).toContain('@aws-sdk/credential-provider-env');
      expect(bundle.packages).not.toEqual(expect.arrayContaining(['@aws-sdk/credential-provider-node']));
      expect(bundle.packages).not.toEqual(expect.arrayContaining(['@aws-sdk/nested-clients']));
      expect(bundle.packages).not.toEqual(expect.arrayContaining(['bowser']));

      const env = lambdaEnv(entry, BUNDLE);
      expect(env.NODE_OPTIONS).toBeUndefined();
      expect(loadBundle(node, bundle.file, env)).toBeGreaterThan(0);
      const required = requiredEnv(entry);
      expect(required).toEqual(expect.arrayContaining(KNOWN_REQUIRED[entry] ?? []));
      for (const name of required) {
        const { [name]: _dropped, ...without } = env;
        expect(() => loadBundle(node, bundle.file, without)).toThrow(`Missing required environment variable ${name}`);
      }
    }
  });
});
