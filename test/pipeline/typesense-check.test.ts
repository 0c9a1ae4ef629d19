/** `npm start --typesense-url`'s first look at the given Typesense: every failure is one line naming the URL. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { freePort } from '../../local/dynamodb-local';
import { startLocalTypesense } from '../../local/typesense-server';
import { checkTypesense } from '../../local/start/typesense-check';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.destroy());
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  server.on('connection', (s) => sockets.push(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

it('accepts a healthy Typesense with the right key', async () => {
  const ts = await startLocalTypesense();
  try {
    await expect(checkTypesense(ts.url, ts.apiKey)).resolves.toBeUndefined();
    await expect(checkTypesense(ts.url, 'wrong')).rejects.toThrow(`Typesense at ${ts.url} rejected the API key (GET /collections answered 401)`);
  } finally {
    await ts.stop();
  }
});

it('names the URL when nothing listens', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  await expect(checkTypesense(url, 'k')).rejects.toThrow(`Typesense at ${url} is unreachable (ECONNREFUSED)`);
});

it('gives up on a server that never answers after the timeout', async () => {
  const url = await serve(() => undefined); // accepts, never answers
  await expect(checkTypesense(url, 'k', 200)).rejects.toThrow(`Typesense at ${url} is unreachable (no answer within 0.2 s)`);
});

it('reports an unhealthy answer with its status', async () => {
  const url = await serve((_req, res) => res.writeHead(503).end());
  await expect(checkTypesense(url, 'k')).rejects.toThrow(`Typesense at ${url} is not healthy (GET /health answered 503)`);
});
