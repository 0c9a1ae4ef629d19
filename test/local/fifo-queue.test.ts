import {
  SendMessageBatchCommand,
  SendMessageCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { FakeClock } from '../../local/clock';
import { LocalFifoQueue, type FifoQueueOptions } from '../../local/fifo-queue';

const URL = 'http://localhost/000000000000/typesense.fifo';

/** dedup null: no MessageDeduplicationId. */
const entry = (id: string, group: string, body = `body-${id}`, dedup: string | null = `d-${id}`): SendMessageBatchRequestEntry => ({
  Id: id,
  MessageBody: body,
  MessageGroupId: group,
  ...(dedup !== null && { MessageDeduplicationId: dedup }),
});

const batch = (...Entries: SendMessageBatchRequestEntry[]) => new SendMessageBatchCommand({ QueueUrl: URL, Entries });

function queue(options: Partial<FifoQueueOptions> = {}) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  return { clock, q: new LocalFifoQueue({ queueUrl: URL, clock, ...options }) };
}

const bodies = (q: LocalFifoQueue) => q.messages().map((m) => m.body);

/** How typesense-sync types its client: the model must plug in without a cast. */
interface SqsSender {
  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
}

describe('LocalFifoQueue: SendMessageBatch', () => {
  it('answers like SQS and plugs in where an SQS client is expected', async () => {
    const { q } = queue();
    const sender: SqsSender = q;
    const out = await sender.send(batch(entry('a', 'g1'), entry('b', 'g2')));
    expect(out.Failed).toEqual([]);
    expect(out.Successful?.map((s) => s.Id)).toEqual(['a', 'b']);
    // MD5 of "body-a", as SQS computes it over the body.
    expect(out.Successful?.[0]).toMatchObject({ MD5OfMessageBody: createHash('md5').update('body-a').digest('hex'), MessageId: expect.any(String) });
    expect(BigInt(out.Successful![1]!.SequenceNumber!)).toBeGreaterThan(BigInt(out.Successful![0]!.SequenceNumber!));
    expect(out.$metadata.httpStatusCode).toBe(200);
  });

  it('rejects whole requests over the limits, as SQS does, queueing nothing', async () => {
    const { q } = queue();
    const eleven = Array.from({ length: 11 }, (_, i) => entry(`e${i}`, 'g'));
    await expect(q.send(batch(...eleven))).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
    await expect(q.send(batch())).rejects.toMatchObject({ name: 'EmptyBatchRequest' });
    await expect(q.send(batch(entry('a', 'g1'), entry('a', 'g2')))).rejects.toMatchObject({ name: 'BatchEntryIdsNotDistinct' });
    await expect(q.send(batch(entry('bad id', 'g')))).rejects.toMatchObject({ name: 'InvalidBatchEntryId' });
    const big = 'x'.repeat(520 * 1024);
    await expect(q.send(batch(entry('a', 'g', big), entry('b', 'g2', big)))).rejects.toMatchObject({ name: 'BatchRequestTooLong', $fault: 'client' });
    await expect(q.send(new SendMessageBatchCommand({ QueueUrl: 'http://elsewhere', Entries: [entry('a', 'g')] }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
    expect(q.depth()).toBe(0);
    expect(q.stats()).toMatchObject({ rejectedCalls: 6, sent: 0 });
    // Exactly 10 entries and exactly 1 MiB are fine.
    await q.send(batch(...eleven.slice(0, 10)));
    const exact = 'y'.repeat(512 * 1024);
    await q.send(batch(entry('p', 'g3', exact), entry('q', 'g4', exact)));
    expect(q.depth()).toBe(12);
  });

  it('fails invalid entries individually (SenderFault true) and queues the rest', async () => {
    const { q } = queue();
    const out = await q.send(batch(entry('a', 'g'), { Id: 'b', MessageBody: 'x', MessageDeduplicationId: 'd-b' }, entry('c', 'g', 'x', null), entry('d', 'g', 'bad\u0000char'), { ...entry('e', 'g'), DelaySeconds: 5 }));
    expect(out.Successful?.map((s) => s.Id)).toEqual(['a']);
    expect(out.Failed?.map((f) => [f.Id, f.Code, f.SenderFault])).toEqual([
      ['b', 'MissingParameter', true],
      ['c', 'InvalidParameterValue', true],
      ['d', 'InvalidMessageContents', true],
      ['e', 'InvalidParameterValue', true],
    ]);
    expect(bodies(q)).toEqual(['body-a']);
  });

  it('injects partial failures per entry: a failed entry is neither queued nor remembered for deduplication', async () => {
    let throttle = true;
    const { q } = queue({ failEntry: (e) => (throttle && e.Id === 'b' ? { Code: 'ThrottlingException', Message: 'Rate exceeded' } : undefined) });
    const out = await q.send(batch(entry('a', 'g1'), entry('b', 'g2'), entry('c', 'g3')));
    expect(out.Successful?.map((s) => s.Id)).toEqual(['a', 'c']);
    expect(out.Failed).toEqual([{ Id: 'b', Code: 'ThrottlingException', Message: 'Rate exceeded', SenderFault: false }]);
    throttle = false;
    await q.send(batch(entry('b', 'g2')));
    expect(bodies(q)).toEqual(['body-a', 'body-c', 'body-b']);
    expect(q.stats()).toMatchObject({ sent: 3, failedEntries: 1, duplicates: 0 });
  });

  it('injects whole-call failures (nothing queued)', async () => {
    const { q } = queue({ failRequest: ({ call }) => (call === 1 ? Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }) : undefined) });
    await expect(q.send(batch(entry('a', 'g')))).rejects.toThrow('socket hang up');
    await q.send(batch(entry('a', 'g')));
    expect(bodies(q)).toEqual(['body-a']);
  });

  it('keeps a group in order when the first of its two entries fails (the trap the adapter must avoid)', async () => {
    const { q } = queue({ failEntry: (e, { call }) => (call === 1 && e.Id === 'first' ? { Code: 'InternalError' } : undefined) });
    await q.send(batch(entry('first', 'doc-1', 'v1'), entry('second', 'doc-1', 'v2')));
    // The model reproduces SQS faithfully: v2 is queued alone, v1 is not. Resending v1 now puts it after v2.
    await q.send(batch(entry('first', 'doc-1', 'v1')));
    expect(bodies(q)).toEqual(['v2', 'v1']);
  });
});

describe('LocalFifoQueue: deduplication window', () => {
  it('drops a resend with the same MessageDeduplicationId within 5 minutes, answering success with the original ids', async () => {
    const { q, clock } = queue();
    const first = await q.send(batch(entry('a', 'g', 'v1', 'dedup-1')));
    clock.advance(5 * 60_000 - 1);
    const again = await q.send(batch(entry('a', 'g', 'v1-again', 'dedup-1')));
    expect(again.Successful?.[0]?.MessageId).toBe(first.Successful?.[0]?.MessageId);
    expect(bodies(q)).toEqual(['v1']);
    expect(q.stats().duplicates).toBe(1);
  });

  it('accepts it again once the 5 minutes have passed (measured from the first acceptance)', async () => {
    const { q, clock } = queue();
    await q.send(batch(entry('a', 'g', 'v1', 'dedup-1')));
    clock.advance(4 * 60_000);
    await q.send(batch(entry('a', 'g', 'dup', 'dedup-1'))); // a duplicate does not extend the window
    clock.advance(60_000);
    await q.send(batch(entry('a', 'g', 'v1-late', 'dedup-1')));
    expect(bodies(q)).toEqual(['v1', 'v1-late']);
  });

  it('deduplicates queue-wide by default, per group with deduplicationScope messageGroup', async () => {
    const wide = queue().q;
    await wide.send(batch(entry('a', 'g1', 'x', 'same'), entry('b', 'g2', 'y', 'same')));
    expect(bodies(wide)).toEqual(['x']);
    const perGroup = queue({ deduplicationScope: 'messageGroup' }).q;
    await perGroup.send(batch(entry('a', 'g1', 'x', 'same'), entry('b', 'g2', 'y', 'same')));
    expect(bodies(perGroup)).toEqual(['x', 'y']);
  });

  it('uses the body hash with content-based deduplication', async () => {
    const { q } = queue({ contentBasedDeduplication: true });
    await q.send(batch(entry('a', 'g', 'same body', null), entry('b', 'g', 'same body', null), entry('c', 'g', 'other', null)));
    expect(bodies(q)).toEqual(['same body', 'other']);
  });
});

describe('LocalFifoQueue: SendMessage', () => {
  it('sends one message, and throws what a batch would list in Failed', async () => {
    const { q } = queue({ failEntry: (e) => (e.MessageBody === 'boom' ? { Code: 'ThrottlingException' } : undefined) });
    const out = await q.send(new SendMessageCommand({ QueueUrl: URL, MessageBody: 'one', MessageGroupId: 'g', MessageDeduplicationId: 'd1' }));
    expect(out).toMatchObject({ MessageId: expect.any(String), SequenceNumber: expect.any(String) });
    await expect(q.send(new SendMessageCommand({ QueueUrl: URL, MessageBody: 'boom', MessageGroupId: 'g', MessageDeduplicationId: 'd2' }))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $fault: 'server',
    });
    expect(bodies(q)).toEqual(['one']);
  });
});

describe('LocalFifoQueue: receiving', () => {
  async function filled() {
    const t = queue({ visibilityTimeoutMs: 30_000 });
    await t.q.send(batch(entry('a1', 'A', 'A1'), entry('b1', 'B', 'B1')));
    await t.q.send(batch(entry('a2', 'A', 'A2'), entry('c1', 'C', 'C1')));
    await t.q.send(batch(entry('a3', 'A', 'A3')));
    return t;
  }

  it('serves groups oldest first and each group in order', async () => {
    const { q } = await filled();
    expect(q.receive(10).map((m) => m.Body)).toEqual(['A1', 'A2', 'A3', 'B1', 'C1']);
  });

  it('never hands out a later message of a group while an earlier one is in flight', async () => {
    const { q } = await filled();
    const [a1] = q.receive(1);
    expect(a1!.Body).toBe('A1');
    expect(q.receive(10).map((m) => m.Body)).toEqual(['B1', 'C1']); // group A is blocked
    q.delete(a1!.ReceiptHandle);
    expect(q.receive(10).map((m) => m.Body)).toEqual(['A2', 'A3']);
  });

  it('returns an undeleted message after the visibility timeout, first in its group', async () => {
    const { q, clock } = await filled();
    const first = q.receive(1)[0]!;
    clock.advance(30_000);
    const again = q.receive(2);
    expect(again.map((m) => m.Body)).toEqual(['A1', 'A2']);
    expect(again[0]!.Attributes.ApproximateReceiveCount).toBe('2');
    expect(() => q.delete(first.ReceiptHandle)).toThrow(/receipt handle/);
  });

  it('moves a message received maxReceiveCount times to the dead letters, unblocking its group', async () => {
    const t = queue({ maxReceiveCount: 2 });
    await t.q.send(batch(entry('p', 'G', 'poison'), entry('x', 'H', 'other')));
    await t.q.send(batch(entry('n', 'G', 'next')));
    for (let i = 0; i < 2; i++) {
      const [m] = t.q.receive(1);
      expect(m!.Body).toBe('poison');
      t.q.release(m!.ReceiptHandle);
    }
    expect(t.q.receive(10).map((m) => m.Body)).toEqual(['next', 'other']);
    expect(t.q.deadLetters().map((m) => m.body)).toEqual(['poison']);
  });

  it('consume applies every message in group order and deletes it; a failing apply leaves it at the head', async () => {
    const { q } = await filled();
    const applied: string[] = [];
    await expect(
      q.consume((m) => {
        if (m.Body === 'A2' && !applied.includes('retry')) {
          applied.push('retry');
          throw new Error('apply failed');
        }
        applied.push(m.Body);
      }),
    ).rejects.toThrow('apply failed');
    expect(q.depth()).toBe(4);
    await q.consume((m) => void applied.push(m.Body));
    // Across groups SQS promises nothing (B1 is now older than A's head); within a group, strict order.
    expect(applied.filter((b) => b.startsWith('A'))).toEqual(['A1', 'A2', 'A3']);
    expect(applied.slice().sort()).toEqual(['A1', 'A2', 'A3', 'B1', 'C1', 'retry']);
    expect(q.depth()).toBe(0);
  });
});
