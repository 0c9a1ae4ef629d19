/**
 * The local search queue over SQS's JSON protocol (local/emulator/sqs-json-server.ts): the
 * real SDK client sends to it, and what it sends lands in the in-process queue with FIFO
 * deduplication; SQS's errors come back as the SDK's named exceptions.
 */
import { GetQueueAttributesCommand, GetQueueUrlCommand, ListQueuesCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { serveSqsQueue, type SqsJsonServer } from '../../local/emulator/sqs-json-server';
import { LocalFifoQueue } from '../../local/fifo-queue';

const INTERNAL = 'https://sqs.local/000000000000/search-actions.fifo';
let queue: LocalFifoQueue;
let server: SqsJsonServer;
let sqs: SQSClient;

beforeEach(async () => {
  queue = new LocalFifoQueue({ queueUrl: INTERNAL, deduplicationScope: 'messageGroup' });
  server = await serveSqsQueue(queue, INTERNAL);
  sqs = new SQSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});
afterEach(async () => {
  sqs.destroy();
  await server.stop();
});

it('serves the queue at a loopback URL with the internal path', () => {
  expect(server.queueUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/000000000000\/search-actions\.fifo$/);
});

it('SendMessageBatch through the SDK queues the entries, deduplicated as SQS FIFO does', async () => {
  const entry = (id: string, dedup: string) => ({ Id: id, MessageBody: `{"key":"${dedup}"}`, MessageGroupId: 'registry', MessageDeduplicationId: dedup, MessageAttributes: { origin: { DataType: 'String', StringValue: 'redrive' }, raw: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) } } });
  const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: server.queueUrl, Entries: [entry('a', 'd1'), entry('b', 'd2')] }));
  expect(out.Successful?.map((s) => s.Id)).toEqual(['a', 'b']);
  expect(out.Failed ?? []).toEqual([]);
  const again = await sqs.send(new SendMessageBatchCommand({ QueueUrl: server.queueUrl, Entries: [entry('c', 'd1')] }));
  expect(again.Successful?.[0]?.MessageId).toBe(out.Successful?.[0]?.MessageId);
  expect(queue.stats()).toMatchObject({ sent: 2, duplicates: 1 });
  const received = queue.receive(10);
  expect(received.map((m) => m.Body)).toEqual(['{"key":"d1"}', '{"key":"d2"}']);
  expect(received[0]!.MessageAttributes?.origin).toEqual({ DataType: 'String', StringValue: 'redrive' });
  expect([...(received[0]!.MessageAttributes?.raw?.BinaryValue ?? [])]).toEqual([1, 2, 3]);
});

it('answers an entry SQS rejects in Failed, and a request over the limits with the named exception', async () => {
  const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: server.queueUrl, Entries: [{ Id: 'nogroup', MessageBody: 'x', MessageDeduplicationId: 'd' }] }));
  expect(out.Failed).toEqual([expect.objectContaining({ Id: 'nogroup', SenderFault: true })]);
  const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: `d${i}` }));
  await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: server.queueUrl, Entries: eleven }))).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest', $metadata: { httpStatusCode: 400 } });
  expect(queue.stats().sent).toBe(0);
});

it('a URL naming another queue is QueueDoesNotExist; SendMessage, GetQueueUrl and GetQueueAttributes are served', async () => {
  await expect(sqs.send(new SendMessageCommand({ QueueUrl: `${server.endpoint}/000000000000/other.fifo`, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd' }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  await sqs.send(new SendMessageCommand({ QueueUrl: server.queueUrl, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd' }));
  expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'search-actions.fifo' }))).QueueUrl).toBe(server.queueUrl);
  expect((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: server.queueUrl, AttributeNames: ['All'] }))).Attributes).toMatchObject({ FifoQueue: 'true', ApproximateNumberOfMessages: '1' });
});

it('anything else answers UnsupportedOperation', async () => {
  await expect(sqs.send(new ListQueuesCommand({}))).rejects.toMatchObject({ name: 'UnsupportedOperation', $metadata: { httpStatusCode: 400 } });
});
