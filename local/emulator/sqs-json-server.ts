/**
 * The local search queue (local/fifo-queue.ts) over SQS's JSON protocol, on a loopback port,
 * so tools outside the process reach it with the real SDK client: `npm run ops -- redrive
 * --queue-url <url>` while `npm start -- --keep-running` is up. The SDK sends to the host of
 * the queue URL it is given. Only what the tools send is served: SendMessageBatch,
 * SendMessage, GetQueueUrl and GetQueueAttributes; anything else answers UnsupportedOperation.
 * Requests are not authenticated (the port is on 127.0.0.1 only, as any local emulator's).
 */
import { SendMessageBatchCommand, SendMessageCommand, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { LocalFifoQueue } from '../fifo-queue';

/** Larger than any valid request (SQS's 1 MiB payload, plus JSON and base64 overhead). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const JSON_TYPE = 'application/x-amz-json-1.0';

export interface SqsJsonServer {
  /** The queue's URL as tools pass it (--queue-url): http://127.0.0.1:<port>/<account>/<name>. */
  readonly queueUrl: string;
  readonly endpoint: string;
  stop(): Promise<void>;
}

class SqsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Serves `queue`, whose own URL is `internalUrl` (the path, /<account>/<name>, is kept). */
export async function serveSqsQueue(queue: LocalFifoQueue, internalUrl: string, options: { port?: number } = {}): Promise<SqsJsonServer> {
  const path = new URL(internalUrl).pathname;
  const name = path.split('/').pop()!;
  const sockets = new Set<Socket>();
  let queueUrl = '';

  const toInternal = (url: unknown): string => {
    let given: URL;
    try {
      given = new URL(String(url));
    } catch {
      throw new SqsError('QueueDoesNotExist', `The specified queue does not exist: ${String(url)}`);
    }
    if (given.pathname !== path) throw new SqsError('QueueDoesNotExist', `The specified queue does not exist: ${String(url)}`);
    return internalUrl;
  };

  const operations: Record<string, (input: Record<string, unknown>) => Promise<object> | object> = {
    SendMessageBatch: async (input) => {
      const Entries = ((input.Entries ?? []) as Record<string, unknown>[]).map((e) => ({ ...e, ...(e.MessageAttributes !== undefined && { MessageAttributes: attributesIn(e.MessageAttributes) }) }));
      const { $metadata: _, ...output } = await queue.send(new SendMessageBatchCommand({ ...input, QueueUrl: toInternal(input.QueueUrl), Entries } as never));
      return output;
    },
    SendMessage: async (input) => {
      const { $metadata: _, ...output } = await queue.send(
        new SendMessageCommand({ ...input, QueueUrl: toInternal(input.QueueUrl), ...(input.MessageAttributes !== undefined && { MessageAttributes: attributesIn(input.MessageAttributes) }) } as never),
      );
      return output;
    },
    GetQueueUrl: (input) => {
      if (input.QueueName !== name) throw new SqsError('QueueDoesNotExist', `The specified queue does not exist: ${String(input.QueueName)}`);
      return { QueueUrl: queueUrl };
    },
    GetQueueAttributes: (input) => {
      toInternal(input.QueueUrl);
      return { Attributes: { FifoQueue: 'true', ApproximateNumberOfMessages: String(queue.depth()), QueueArn: `arn:aws:sqs:us-east-1:${path.split('/')[1]}:${name}` } };
    },
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => answerError(res, error));
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('AmazonSQS.') ? operations[target.slice('AmazonSQS.'.length)] : undefined;
    if (req.method !== 'POST' || !operation) throw new SqsError('UnsupportedOperation', `${req.method} ${target || '(no X-Amz-Target)'} is not served by the local search queue`);
    const body = await readBody(req);
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body || '{}') as Record<string, unknown>;
    } catch {
      throw new SqsError('InvalidParameterValue', 'the request body is not JSON');
    }
    answer(res, 200, await operation(input));
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(options.port ?? 0, '127.0.0.1', () => listening());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  queueUrl = `${endpoint}${path}`;
  return {
    queueUrl,
    endpoint,
    stop: () =>
      new Promise<void>((closed) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => closed());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_REQUEST_BYTES) throw new SqsError('BatchRequestTooLong', `the request is larger than ${MAX_REQUEST_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The JSON protocol carries BinaryValue as base64; the SDK's command input holds bytes. */
function attributesIn(value: unknown): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [key, attr] of Object.entries((value ?? {}) as Record<string, MessageAttributeValue & { BinaryValue?: unknown }>)) {
    out[key] = { ...attr, ...(typeof attr.BinaryValue === 'string' && { BinaryValue: Buffer.from(attr.BinaryValue, 'base64') }) };
  }
  return out;
}

function answer(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** An error as SQS's JSON protocol answers it: `__type` names the exception, which the SDK throws by that name. */
function answerError(res: ServerResponse, error: unknown): void {
  const e = error as { name?: string; message?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
  const code = error instanceof SqsError ? error.code : (e.name ?? 'InternalError');
  const status = error instanceof SqsError ? error.status : (e.$metadata?.httpStatusCode ?? (e.$fault === 'client' ? 400 : 500));
  if (res.headersSent) return void res.destroy();
  answer(res, status, { __type: `com.amazonaws.sqs#${code}`, message: e.message ?? code }, { 'x-amzn-query-error': `${code};${status < 500 ? 'Sender' : 'Receiver'}` });
}
