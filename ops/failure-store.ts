/**
 * Where stream failures are kept: the S3 on-failure bucket (`s3://bucket/prefix`), or a local
 * folder standing in for it (`file:///dir` or a path; the local emulator writes there with
 * the same key layout). A redrive lists objects, reads them, and removes (or, with --keep,
 * marks) only those whose every key reconciled.
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './common';

export interface FailureStore {
  /** Human-readable location, for reports. */
  readonly location: string;
  list(): Promise<string[]>;
  read(key: string): Promise<string>;
  remove(key: string): Promise<void>;
  /** Marks an object as redriven by `run` without deleting it (--keep). */
  keep(key: string, run: string): Promise<void>;
}

export type FailureSource = { readonly kind: 's3'; readonly bucket: string; readonly prefix: string } | { readonly kind: 'folder'; readonly dir: string };

export function parseFrom(from: string): FailureSource {
  if (from.startsWith('s3://')) {
    const [bucket, ...rest] = from.slice('s3://'.length).split('/');
    if (!bucket) throw new UsageError(`--from ${from}: no bucket name`);
    return { kind: 's3', bucket, prefix: rest.join('/') };
  }
  const dir = from.startsWith('file://') ? fileURLToPath(from) : from;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--from ${from}: not a folder`);
  return { kind: 'folder', dir };
}

/** Marker written next to a kept local object (a folder has no object tags). */
export const KEPT_SUFFIX = '.redriven';

export function folderStore(dir: string): FailureStore {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.tmp') || e.name.endsWith(KEPT_SUFFIX) ? [] : [join(d, e.name)]));
  const path = (key: string) => join(dir, ...key.split('/'));
  return {
    location: dir,
    list: async () => walk(dir).map((p) => relative(dir, p).split(sep).join('/')).filter((k) => !existsSync(path(k) + KEPT_SUFFIX)).sort(),
    read: async (key) => readFileSync(path(key), 'utf8'),
    remove: async (key) => unlinkSync(path(key)),
    keep: async (key, run) => writeFileSync(path(key) + KEPT_SUFFIX, `${run}\n`),
  };
}

/** Objects tagged `redriven` are skipped by later runs (--keep). */
export const REDRIVEN_TAG = 'redriven';

export function s3Store(s3: S3Client, bucket: string, prefix: string): FailureStore {
  return {
    location: `s3://${bucket}/${prefix}`,
    async list() {
      const keys: string[] = [];
      let ContinuationToken: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key!).filter(Boolean));
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
      return keys.sort();
    },
    async read(key) {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    },
    remove: async (key) => void (await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))),
    keep: async (key, run) => void (await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet: [{ Key: REDRIVEN_TAG, Value: run }] } }))),
  };
}
