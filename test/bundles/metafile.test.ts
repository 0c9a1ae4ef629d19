import type { Metafile } from 'esbuild';
import { duplicatePackages } from '../../bench/bundles';

/** The duplicate check the bench and the Node 22 test rely on, on a metafile shaped like esbuild's. */
const metafile = (inputs: Record<string, number>): Metafile => ({
  inputs: Object.fromEntries(Object.keys(inputs).map((path) => [path, { bytes: 1, imports: [] }])),
  outputs: {
    'out/index.js': {
      bytes: 1,
      inputs: Object.fromEntries(Object.entries(inputs).map(([path, bytesInOutput]) => [path, { bytesInOutput }])),
      imports: [],
      exports: [],
      entryPoint: 'lambda/x/index.ts',
    },
  },
});

describe('duplicate packages in a bundle', () => {
  it('names a package bundled from two folders (a nested second version), scoped or not', () => {
    const found = duplicatePackages(
      metafile({
        'node_modules/@aws-lambda-powertools/commons/lib/esm/index.js': 10,
        'node_modules/@aws-lambda-powertools/logger/node_modules/@aws-lambda-powertools/commons/lib/esm/index.js': 10,
        'node_modules/tslib/tslib.es6.mjs': 5,
        'node_modules/typesense/node_modules/tslib/tslib.js': 5,
        'node_modules/@smithy/core/dist-es/index.js': 10,
        'lambda/x/index.ts': 3,
      }),
    );
    expect(found).toEqual(['@aws-lambda-powertools/commons', 'tslib']);
  });

  it('ignores a second copy that tree-shaking removed entirely', () => {
    const found = duplicatePackages(
      metafile({
        'node_modules/bowser/es5.js': 0,
        'node_modules/x/node_modules/bowser/es5.js': 12,
      }),
    );
    expect(found).toEqual([]);
  });
});
