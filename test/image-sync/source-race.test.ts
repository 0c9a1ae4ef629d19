/**
 * Races on the source (DESIGN §9): a reconcile (here a tool's, e.g. a backfill or an audit
 * repair) reads the images and the pointer, then pauses (hooks.afterRead); meanwhile an image
 * changes and the stream handler reconciles that change and finds nothing to write; then the
 * paused reconcile resumes. Conditioning on the pointer alone would let it write what it read,
 * which is no longer true; the ConditionCheck on the image makes that write fail, and the
 * re-read decides from the truth. Deterministic: the other side runs inside the pause.
 */
import { imageKey, type ImageEntity } from '../../lambda/image-sync/keys';
import type { ReconcileState } from '../../lambda/image-sync/reconcile';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { i2Of, imageReconciler, imageRow, imageSync, newEntity, pointerFor, readPointer, tableWriter, transactions, writePointer } from './helpers';

let table: TestTable;
let writer: ReturnType<typeof tableWriter>;
beforeAll(async () => {
  table = await createTestTable('image-source-race');
  writer = tableWriter(table);
});
afterAll(() => table.drop());

/** A tool's reconciler that, after its first reads only, runs `meanwhile` before going on. */
function pausedOnce(meanwhile: (state: ReconcileState) => Promise<void>) {
  let paused = false;
  const reads: ReconcileState[] = [];
  const tool = imageReconciler(table, {
    hooks: {
      afterRead: async (_pk, state) => {
        reads.push(state);
        if (paused) return;
        paused = true;
        await meanwhile(state);
      },
    },
  });
  return { ...tool, reads };
}

/** The stream side: the handler reconciles `record` and must find nothing to write. */
async function streamReconcilesWithoutWriting(record: Parameters<ReturnType<typeof imageSync>['run']>[0]) {
  const stream = imageSync(table);
  expect(await stream.run(record)).toEqual({ batchItemFailures: [] });
  expect(stream.io.writes()).toEqual([]);
}

const changedItems = (tool: ReturnType<typeof pausedOnce>) =>
  tool.log.lines.filter((l) => l.level === 'warn').map((l) => (l.extra[0] as { changed: string[] }).changed);

describe('image-sync: the source changes between the reads and the write', () => {
  it('create after the image was deleted (the twin of the §9 counter-example): no pointer is left behind', async () => {
    const entity: ImageEntity = newEntity('REGISTRATION');
    const x = imageRow(entity, 1);
    await writer.put(x);
    const tool = pausedOnce(async (state) => {
      expect(state).toMatchObject({ newest: { SK: x.SK }, pointer: undefined }); // "X exists, no pointer"
      const removed = (await writer.remove(x))!;
      await streamReconcilesWithoutWriting(removed); // no images, no pointer: nothing to do
    });

    const results = await tool.reconcile(imageKey(entity, x.SK));
    // the outcome first (what the mutation without the image check breaks), then how it got there
    expect(await readPointer(table, entity)).toBeUndefined();
    expect(await i2Of(table, entity)).toEqual([]);
    expect(transactions(tool.io)).toEqual([['Put DEFAULT', `ConditionCheck ${x.SK}`]]); // the create, refused
    expect(changedItems(tool)).toEqual([['image']]);
    expect(tool.reads).toHaveLength(2);
    expect(results).toEqual([{ key: imageKey(entity, x.SK), action: 'none', changed: false }]);
  });

  it('delete while an image with the same SK is re-created: the re-created image keeps its pointer', async () => {
    const entity = newEntity('ICAO');
    const x = imageRow(entity, 1);
    await writer.put(x);
    await writePointer(table, entity, pointerFor(x, 'earlier'));
    await writer.remove(x); // its record is handled by the tool below (e.g. a redrive)
    const tool = pausedOnce(async (state) => {
      expect(state).toMatchObject({ newest: undefined, pointer: { image_sk: x.SK } }); // "no images: delete the pointer"
      const recreated = await writer.put(x);
      await streamReconcilesWithoutWriting(recreated); // the pointer names X again and is in sync
    });

    const results = await tool.reconcile(imageKey(entity, x.SK));
    // the outcome first (what the mutation without the image check breaks), then how it got there
    expect(await readPointer(table, entity)).toMatchObject(pointerFor(x, 'earlier'));
    expect(await i2Of(table, entity)).toEqual([]);
    expect(transactions(tool.io)).toEqual([['Delete DEFAULT', `ConditionCheck ${x.SK}`]]);
    expect(changedItems(tool)).toEqual([['image']]);
    expect(results[0]).toMatchObject({ action: 'none', changed: false });
  });

  it('repair after a display field changed on the image: the stale value is never copied', async () => {
    const entity = newEntity('REGISTRATION');
    const x = imageRow(entity, 1, { caption: 'A' });
    await writer.put(x);
    await writePointer(table, entity, { ...pointerFor(x, 'earlier'), caption: 'B' }); // stale copy
    const tool = pausedOnce(async (state) => {
      expect(state.newest).toMatchObject({ caption: 'A' }); // "repair the pointer's caption to A"
      const modified = await writer.put({ ...x, caption: 'B' });
      await streamReconcilesWithoutWriting(modified); // the pointer already says B: in sync
    });

    const results = await tool.reconcile(imageKey(entity, x.SK));
    // the outcome first (what the mutation without the image check breaks), then how it got there
    expect(await readPointer(table, entity)).toMatchObject({ caption: 'B', updated_at: 'earlier' });
    expect(await i2Of(table, entity)).toEqual([]);
    expect(transactions(tool.io)).toEqual([['Update DEFAULT', `ConditionCheck ${x.SK}`]]);
    expect(changedItems(tool)).toEqual([['image']]);
    expect(results[0]).toMatchObject({ action: 'none', changed: false });
  });

  it('switch after the newest image changed: the re-read repairs from the image as it is now', async () => {
    const entity = newEntity('ICAO');
    const x = imageRow(entity, 2);
    await writer.put(x);
    await writePointer(table, entity, pointerFor(imageRow(entity, 9), 'broken')); // names a missing image
    const tool = pausedOnce(async () => {
      await writer.put({ ...x, url: 'https://cdn.example/moved.jpg' }); // its record is lost
    });

    const results = await tool.reconcile(imageKey(entity, x.SK));
    // the outcome first (what the mutation without the image check breaks), then how it got there
    expect(await readPointer(table, entity)).toMatchObject({ image_sk: x.SK, url: 'https://cdn.example/moved.jpg' });
    expect(await i2Of(table, entity)).toEqual([]);
    expect(transactions(tool.io)).toEqual([
      ['Update DEFAULT', `ConditionCheck ${x.SK}`], // refused: the url changed
      ['Update DEFAULT', `ConditionCheck ${x.SK}`],
    ]);
    expect(results[0]).toMatchObject({ action: 'switch', changed: true });
  });
});
