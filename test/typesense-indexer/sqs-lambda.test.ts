/** The local SQS FIFO -> Lambda event source (local/sqs-lambda.ts), on a FakeClock: no real waits. */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { FakeClock } from '../../local/clock';
import { LocalFifoQueue } from '../../local/fifo-queue';
import { SqsLambda } from '../../local/sqs-lambda';

const URL = 'https://sqs.local/0/q.fifo';
function setup(handle: (event: SQSEvent, call: number) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>) {
  const clock = new FakeClock();
  const queue = new LocalFifoQueue({ queueUrl: URL, clock, visibilityTimeoutMs: 30_000, maxReceiveCount: 5 });
  const events: SQSEvent[] = [];
  let call = 0;
  const lambda = new SqsLambda({ queue, clock, handler: async (event) => (events.push(event), handle(event, ++call)) });
  const send = (entries: [string, string][]) =>
    queue.send(new SendMessageBatchCommand({ QueueUrl: URL, Entries: entries.map(([group, body], i) => ({ Id: `e${i}`, MessageGroupId: group, MessageDeduplicationId: `${group}-${body}`, MessageBody: body })) }));
  return { clock, queue, lambda, events, send };
}
const bodies = (e: SQSEvent) => e.Records.map((r) => r.body);

describe('SqsLambda: Lambda\'s SQS FIFO event source over the local queue', () => {
  it('invokes with a real-shaped event (FIFO attributes), deletes what succeeded', async () => {
    const { lambda, queue, events, send } = setup(async () => ({ batchItemFailures: [] }));
    await send([['g1', 'a'], ['g2', 'b'], ['g1', 'c']]);
    await lambda.drain();
    expect(events.map(bodies)).toEqual([['a', 'c', 'b']]);
    expect(events[0]!.Records[0]!.attributes).toMatchObject({ MessageGroupId: 'g1', ApproximateReceiveCount: '1' });
    expect(events[0]!.Records[0]!.eventSource).toBe('aws:sqs');
    expect(queue.depth()).toBe(0);
  });

  it('a reported failure stays in flight: its group is blocked until the visibility timeout, then redelivered in order', async () => {
    const { lambda, events, clock, send } = setup(async (event, call) => ({
      batchItemFailures: call === 1 ? event.Records.filter((r) => r.attributes.MessageGroupId === 'g1').map((r) => ({ itemIdentifier: r.messageId })) : [],
    }));
    await send([['g1', 'a'], ['g1', 'b'], ['g2', 'c']]);
    const start = clock.now();
    await lambda.drain();
    expect(events.map(bodies)).toEqual([['a', 'b', 'c'], ['a', 'b']]);
    expect(events[1]!.Records[0]!.attributes.ApproximateReceiveCount).toBe('2');
    expect(clock.now() - start).toBeGreaterThanOrEqual(30_000);
  });

  it('a thrown error or an unknown itemIdentifier fails the whole batch', async () => {
    const { lambda, events, send } = setup(async (_event, call) => {
      if (call === 1) throw new Error('boom');
      return { batchItemFailures: call === 2 ? [{ itemIdentifier: 'not-in-batch' }] : [] };
    });
    await send([['g1', 'a'], ['g2', 'b']]);
    await lambda.drain();
    expect(events.map(bodies)).toEqual([['a', 'b'], ['a', 'b'], ['a', 'b']]);
    expect(lambda.counters()).toMatchObject({ invocations: 3, functionErrors: 1, failed: 4, deleted: 2 });
  });

  it('a message that keeps failing moves to the dead-letter list after 5 receives; its group then goes on', async () => {
    const { lambda, queue, events, send } = setup(async (event) => ({ batchItemFailures: event.Records.filter((r) => r.body === 'poison').map((r) => ({ itemIdentifier: r.messageId })) }));
    await send([['g1', 'poison'], ['g2', 'ok']]);
    await send([['g1', 'after']]);
    await lambda.drain();
    expect(queue.deadLetters().map((m) => m.body)).toEqual(['poison']);
    expect(events.flatMap(bodies).filter((b) => b === 'poison')).toHaveLength(5);
    expect(events.flatMap(bodies)).toContain('after');
    expect(queue.depth()).toBe(0);
  });
});
