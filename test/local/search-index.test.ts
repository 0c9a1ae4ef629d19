import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { FakeClock } from '../../local/clock';
import { LocalFifoQueue } from '../../local/fifo-queue';
import { consumeIntoIndex, LocalSearchIndex, parseQueueMessage, SearchMessageError } from '../../local/search-index';

const source = (sequenceNumber: string) => ({ pk: 'AIRCRAFT#REGISTRY#FAA', sk: 'DETAIL#N1', eventID: `e${sequenceNumber}`, sequenceNumber, approximateCreationDateTime: 1_780_000_000 });
const upsert = (id: string, document: Record<string, unknown>, seq = '1', collection = 'registry') => JSON.stringify({ v: 1, action: 'upsert', collection, id, document, source: source(seq) });
const del = (id: string, seq = '2', collection = 'registry') => JSON.stringify({ v: 1, action: 'delete', collection, id, source: source(seq) });

describe('parseQueueMessage', () => {
  it('reads a version-1 upsert and delete', () => {
    expect(parseQueueMessage(upsert('n1', { id: 'n1', registration: 'N1' }))).toMatchObject({ action: 'upsert', collection: 'registry', id: 'n1', document: { registration: 'N1' } });
    expect(parseQueueMessage(del('n1'))).toMatchObject({ action: 'delete', id: 'n1', source: { pk: 'AIRCRAFT#REGISTRY#FAA' } });
  });

  it.each([
    ['an unknown version', JSON.stringify({ v: 2, action: 'upsert', collection: 'c', id: 'i', document: {}, source: source('1') }), /unsupported version 2/],
    ['no version', JSON.stringify({ action: 'delete', collection: 'c', id: 'i', source: source('1') }), /unsupported version undefined/],
    ['an unknown action', JSON.stringify({ v: 1, action: 'patch', collection: 'c', id: 'i', source: source('1') }), /unknown action "patch"/],
    ['an upsert without a document', JSON.stringify({ v: 1, action: 'upsert', collection: 'c', id: 'i', source: source('1') }), /needs a document/],
    ['a missing id', JSON.stringify({ v: 1, action: 'delete', collection: 'c', source: source('1') }), /id must be/],
    ['no source', JSON.stringify({ v: 1, action: 'delete', collection: 'c', id: 'i' }), /source must name/],
    ['a document whose id differs', upsert('a', { id: 'b' }), /differs from id/],
    ['not JSON', '{nope', /not JSON/],
  ])('rejects %s loudly', (_what, body, message) => {
    expect(() => parseQueueMessage(body)).toThrow(SearchMessageError);
    expect(() => parseQueueMessage(body)).toThrow(message);
  });
});

describe('LocalSearchIndex', () => {
  it('applies upserts (whole-document replace) and deletes in order, per collection', () => {
    const index = new LocalSearchIndex();
    index.apply(upsert('n1', { id: 'n1', registration: 'N1', model: '172' }));
    index.apply(upsert('n1', { id: 'n1', registration: 'N1' }, '3'));
    index.apply(upsert('c172', { id: 'c172', type_designator: 'C172' }, '4', 'icao_aircraft'));
    index.apply(upsert('n2', { id: 'n2' }, '5'));
    index.apply(del('n2', '6'));
    index.apply(del('never-there', '7'));
    expect(index.get('registry', 'n1')).toEqual({ id: 'n1', registration: 'N1' });
    expect(index.entry('registry', 'n1')?.source.sequenceNumber).toBe('3');
    expect(index.dump()).toEqual({
      icao_aircraft: [{ id: 'c172', document: { id: 'c172', type_designator: 'C172' } }],
      registry: [{ id: 'n1', document: { id: 'n1', registration: 'N1' } }],
    });
    expect(index.size()).toBe(2);
    expect(index.stats().registry).toEqual({ upserts: 3, deletes: 2, deletesOfMissing: 1 });
  });

  it('keeps its own copy of a document', () => {
    const index = new LocalSearchIndex();
    const document = { id: 'n1', model: '172S' };
    index.apply({ v: 1, action: 'upsert', collection: 'registry', id: 'n1', document, source: source('1') });
    document.model = 'changed by the producer afterwards';
    expect(index.get('registry', 'n1')).toEqual({ id: 'n1', model: '172S' });
  });

  it('rejects a collection it does not know when given its collections', () => {
    const index = new LocalSearchIndex({ collections: ['registry'] });
    expect(() => index.apply(upsert('x', { id: 'x' }, '1', 'typo'))).toThrow(/unknown collection "typo"/);
    expect(index.collections()).toEqual(['registry']);
  });
});

describe('consumeIntoIndex', () => {
  const send = (queue: LocalFifoQueue, ...bodies: [string, string][]) =>
    queue.send(
      new SendMessageBatchCommand({
        QueueUrl: 'q',
        Entries: bodies.map(([group, body], i) => ({ Id: `e${i}`, MessageGroupId: group, MessageDeduplicationId: `${group}-${body.length}-${i}-${Math.random()}`, MessageBody: body })),
      }),
    );

  it('applies the queue in FIFO order per group, so the last action per document wins', async () => {
    const queue = new LocalFifoQueue({ clock: new FakeClock() });
    const index = new LocalSearchIndex();
    await send(queue, ['registry/n1', upsert('n1', { id: 'n1', v: 1 })], ['registry/n2', upsert('n2', { id: 'n2' })]);
    await send(queue, ['registry/n1', upsert('n1', { id: 'n1', v: 2 }, '2')], ['registry/n2', del('n2', '3')]);
    await send(queue, ['registry/n1', upsert('n1', { id: 'n1', v: 3 }, '4')]);
    expect(await consumeIntoIndex(queue, index)).toBe(5);
    expect(index.dump()).toEqual({ registry: [{ id: 'n1', document: { id: 'n1', v: 3 } }] });
    expect(queue.depth()).toBe(0);
  });

  it('stops loudly on a message it cannot apply, leaving it (and its group) in the queue', async () => {
    const queue = new LocalFifoQueue({ clock: new FakeClock() });
    const index = new LocalSearchIndex();
    await send(queue, ['registry/n1', JSON.stringify({ v: 9, action: 'upsert' })], ['registry/n2', upsert('n2', { id: 'n2' })]);
    await send(queue, ['registry/n1', upsert('n1', { id: 'n1' })]);
    await expect(consumeIntoIndex(queue, index)).rejects.toThrow(/unsupported version 9 .*group registry\/n1/);
    expect(index.get('registry', 'n1')).toBeUndefined(); // the later message of the group did not overtake
    expect(queue.depth()).toBeGreaterThanOrEqual(2);
  });
});
