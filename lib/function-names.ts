/**
 * Every Lambda function the package builds and deploys, one entry per `lambda/<name>/index.ts`
 * (exporting `handler`). `npm run build` bundles each into `bundles/<name>/`, the construct
 * deploys from there, and a test fails when an entry folder is missing from this list.
 * Dependency-free: the build, the construct and the tests all read it. Adding a function is
 * one line here.
 */
export const FUNCTION_NAMES = ['typesense-sync', 'image-sync', 'faa-matcher-sync', 'typesense-indexer', 'audit-trail', 'domain-events'] as const;

export type FunctionName = (typeof FUNCTION_NAMES)[number];
