import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { Client } from 'typesense';
import { matcherTupleKey } from '../../lambda/faa-matcher-sync/keys';
import { COLLECTION_SCHEMAS, matchIndexedSpec } from '../../lambda/typesense-sync/specs';
import { LocalFifoQueue } from '../../local/fifo-queue';
import { startLocalTypesense, type LocalTypesense } from '../../local/typesense-server';
import { auditExitCode, runAudit } from '../../ops/audit';
import { createReconcilers } from '../../ops/reconcile';
import { readTypesenseIndex } from '../../ops/typesense';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { contribution, entityPk, image, link, pointerTo, putAll, quietLogger, T1, T2, tupleRow } from './support';

const QUEUE_URL = 'https://sqs.local/000000000000/search.fifo';
const ALL = new Set(['I1', 'I2', 'I3'] as const);
const reg = { PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N100', registration: 'N100', manufacturer: 'CESSNA', model: '172S' };

describe('ops audit on DynamoDB Local', () => {
  let table: TestTable;
  beforeEach(async () => {
    table = await createTestTable('ops-audit');
  });
  afterEach(async () => table.drop());

  const audit = (extra: Partial<Parameters<typeof runAudit>[0]> = {}) => runAudit({ client: table.client, tableName: table.tableName, segments: 3, only: new Set(['I2', 'I3']), ...extra });

  /** One of each kind of I2/I3 drift, each repairable through the reconcile entries. */
  const seedDrift = async () => {
    const a1 = image('A', 'IMG#1');
    const b1 = image('B', 'IMG#1');
    const c1 = image('C', 'IMG#1');
    await putAll(table, [
      a1, // A: images, no pointer
      b1, pointerTo(image('B', 'IMG#9')), // B: pointer to a deleted image
      c1, pointerTo(c1, { url: 'https://old' }), // C: stale pointer field
      pointerTo(image('D', 'IMG#1')), // D: pointer without images
      link('1'), link('2'), contribution('1', T1), tupleRow(T1, 1), // T1: count 1, links 2 (link 2's count was lost)
      contribution('9', T2), tupleRow(T2, 1), // T2: orphan tuple, counted for a deleted link 9
    ]);
  };

  it('reports each kind of drift with its keys, and a repair leaves nothing to report', async () => {
    await seedDrift();
    const report = await audit();
    const t1 = matcherTupleKey(T1);
    const t2 = matcherTupleKey(T2);
    expect(report.findings.map((f) => [f.invariant, f.pk, f.sk, f.problem]).sort()).toEqual(
      [
        ['I2', entityPk('A'), 'DEFAULT', 'entity has images but no pointer'],
        ['I2', entityPk('B'), 'DEFAULT', 'pointer names missing image IMG#9'],
        ['I2', entityPk('C'), 'DEFAULT', 'pointer field url differs from image IMG#1'],
        ['I2', entityPk('D'), 'DEFAULT', 'pointer exists but the entity has no images'],
        ['I3', t1.PK, t1.SK, 'count 1, links 2'],
        ['I3', t2.PK, t2.SK, 'tuple row with count 1 but no link carries it'],
        ['I3', 'FAA#LINKS', link('9').SK, `contribution row counts a deleted link toward ${t2.PK} ${t2.SK}`],
        ['I3', 'FAA#LINKS', link('2').SK, `link carries ${t1.PK} ${t1.SK} but no contribution row counts it`],
      ].sort(),
    );
    // Both counts agree with their contribution rows (1 and 1): only the links are drifted.
    expect(report.checked).toMatchObject({ entities: 4, tuples: 1, cleared: 0, recounted: 2 });
    expect(auditExitCode(report)).toBe(1);

    const reconcilers = createReconcilers({ doc: table.doc, tableName: table.tableName, logger: quietLogger(), subsystems: ['image-sync', 'faa-matcher-sync'] });
    const repaired = await audit({ repair: { reconcilers, run: 'repair-test' } });
    expect(repaired.repair).toMatchObject({ failures: [], unrepairable: 0, notRouted: 0, untouched: [], recount: { tuples: 2, recounted: 0, exact: 2 }, remaining: [] });
    expect(repaired.repair!.subsystems['image-sync']).toEqual({ keys: 4, changed: 4, failed: 0 });
    expect(repaired.repair!.subsystems['faa-matcher-sync']).toEqual({ keys: 2, changed: 2, failed: 0 });
    expect(repaired.repair!.reaudited).toBe(4 + 2 + 2); // entities, links, tuples
    expect(auditExitCode(repaired)).toBe(0);

    const after = await audit();
    expect(after.findings).toEqual([]);
    expect(auditExitCode(after)).toBe(0);
  });

  it('a consistent table has no findings', async () => {
    const a1 = image('A', 'IMG#1');
    await putAll(table, [a1, pointerTo(a1), link('1'), contribution('1', T1), tupleRow(T1, 1)]);
    expect((await audit()).findings).toEqual([]);
  });

  it('drift that the stream is still repairing when the scan ran is re-checked and not reported', async () => {
    const a1 = image('A', 'IMG#1');
    await putAll(table, [a1]);
    // The pointer lands after the scan read the partition (as a draining stream would write it).
    let scans = 0;
    const client = new Proxy(table.client, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: { constructor: { name: string } }) => {
          const out = await target.send(command as never);
          if (command.constructor.name === 'ScanCommand' && ++scans === 3) await table.doc.send(new PutCommand({ TableName: table.tableName, Item: pointerTo(a1) }));
          return out;
        };
      },
    });
    const report = await audit({ client });
    expect(report.findings).toEqual([]);
    expect(report.checked).toMatchObject({ cleared: 1, rechecked: 1 });
  });

  it("an entity partition split across a segment's pages (another partition's rows in between) is checked whole by the re-check", async () => {
    const a = [image('A', 'IMG#1'), image('A', 'IMG#2')];
    await putAll(table, [...a, pointerTo(a[1]!), image('B', 'IMG#1'), pointerTo(image('B', 'IMG#1'))]);
    // A scan returns a partition's rows one after another; this one does not: A's pointer, B, then A's images.
    const client = new Proxy(table.client, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: { constructor: { name: string } }) => {
          const out = (await target.send(command as never)) as { Items?: Record<string, { S?: string }>[] };
          if (command.constructor.name === 'ScanCommand' && out.Items) {
            const isA = (i: Record<string, { S?: string }>) => i.PK?.S === entityPk('A');
            const isAPointer = (i: Record<string, { S?: string }>) => isA(i) && i.SK?.S === 'DEFAULT';
            out.Items = [...out.Items.filter(isAPointer), ...out.Items.filter((i) => !isA(i)), ...out.Items.filter((i) => isA(i) && !isAPointer(i))];
          }
          return out;
        };
      },
    });
    const report = await audit({ client, segments: 1 });
    expect(report.findings).toEqual([]);
    expect(report.checked).toMatchObject({ rechecked: 2, cleared: 2 }); // A without its pointer, then a pointer without images
  });

  describe('I1 against a Typesense server (local stand-in)', () => {
    let server: LocalTypesense;
    beforeAll(async () => {
      server = await startLocalTypesense({ apiKey: 'test-key' });
    });
    afterAll(async () => server.stop());

    it('finds missing, extra and stale documents by collection and id, and repair sends a trigger per source row', async () => {
      const img = image('N100', 'IMG#1');
      const other = { ...reg, SK: 'DETAIL#N200', registration: 'N200' };
      await putAll(table, [reg, other, img, pointerTo(img)]);
      const client = new Client({ nodes: [{ url: server.url }], apiKey: server.apiKey, logLevel: 'silent' });
      for (const schema of COLLECTION_SCHEMAS) await client.collections().create(schema as never).catch(() => undefined);
      const regSpec = matchIndexedSpec(reg)!;
      const gone = { ...reg, SK: 'DETAIL#N999', registration: 'N999' };
      await client.collections('registry').documents().import([{ ...regSpec.toDocument(other)!, model: 'OLD' }, regSpec.toDocument(gone)!] as never, { action: 'upsert' });
      // reg is missing, other is stale, N999 is extra; the image document is missing too.
      const queue = new LocalFifoQueue({ queueUrl: QUEUE_URL });
      const reconcilers = createReconcilers({ doc: table.doc, tableName: table.tableName, logger: quietLogger(), subsystems: ['typesense-sync'], sqs: queue, queueUrl: QUEUE_URL });
      const report = await audit({ only: ALL, readIndex: () => readTypesenseIndex(server.url, server.apiKey), repair: { reconcilers, run: 'r1' } });
      const i1 = report.findings.filter((f) => f.invariant === 'I1').map((f) => [f.collection, f.id, f.pk, f.sk, f.problem]);
      expect(i1.sort()).toEqual(
        [
          ['aircraft_images', matchIndexedSpec({ PK: img.PK as string, SK: img.SK as string })!.documentId({ PK: img.PK as string, SK: img.SK as string }), img.PK, img.SK, 'missing from the index'],
          ['registry', regSpec.documentId(reg), reg.PK, reg.SK, 'missing from the index'],
          ['registry', regSpec.documentId(other), other.PK, other.SK, 'stale document in the index'],
          ['registry', regSpec.documentId(gone), null, null, 'in the index but not in the table'],
        ].sort(),
      );
      expect(report.repair).toMatchObject({ keys: 3, unrepairable: 1, notRouted: 0, failures: [] });
      const sent = queue.receive(10).map((m) => JSON.parse(m.Body!));
      expect(sent.map((m) => [m.key.pk, m.key.sk, m.origin]).sort()).toEqual(
        [img, reg, other].map((r) => [r.PK, r.SK, { kind: 'repair', run: 'r1' }]).sort(),
      );
    });

    it('the index is read as a stream: every document of a collection, none of a missing one, and lookups by id in batches', async () => {
      const client = new Client({ nodes: [{ url: server.url }], apiKey: server.apiKey, logLevel: 'silent' });
      await client.collections('registry').delete().catch(() => undefined);
      await client.collections().create(COLLECTION_SCHEMAS.find((c) => c.name === 'registry') as never);
      const docs = Array.from({ length: 250 }, (_, i) => matchIndexedSpec(reg)!.toDocument({ ...reg, SK: `DETAIL#N${i}`, registration: `N${i}` })!);
      await client.collections('registry').documents().import(docs as never, { action: 'upsert' });
      const reader = await readTypesenseIndex(server.url, server.apiKey, ['registry', 'no_such_collection']);
      const seen: string[] = [];
      for await (const doc of reader.documents('registry')) seen.push(doc.id);
      expect(seen.sort()).toEqual(docs.map((d) => (d as { id: string }).id).sort());
      const none: unknown[] = [];
      for await (const doc of reader.documents('no_such_collection')) none.push(doc);
      expect(none).toEqual([]);
      const wanted = [...docs.slice(0, 150).map((d) => (d as { id: string }).id), 'faa.NOPE'];
      const before = server.requests().length;
      const found = await reader.get('registry', wanted);
      expect([...found.keys()].sort()).toEqual(wanted.slice(0, 150).sort());
      const lookups = server.requests().slice(before).map((r) => new URL(r.path, server.url));
      expect(lookups.map((u) => [u.pathname, u.searchParams.get('filter_by')!.split(',').length])).toEqual([
        ['/collections/registry/documents/export', 100],
        ['/collections/registry/documents/export', 51],
      ]);
    });

    it('without a server, prints the projection counts per collection', async () => {
      const img = image('N100', 'IMG#1');
      await putAll(table, [reg, img]);
      const report = await audit({ only: ALL });
      expect(report.projection).toEqual({ registry: 1, aircraft_images: 1 });
    });
  });
});
