/**
 * `npm start --typesense-url`: one quick look at the given Typesense before anything starts.
 * The Typesense client retries an unreachable node for minutes without a word; this fails in
 * seconds with one line naming the URL instead.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export class TypesenseUnreachable extends Error {
  override readonly name = 'TypesenseUnreachable';
}

/** One GET with a deadline: node:http, not fetch, whose spec refuses some ports (1, 6000, ...) that Typesense's client reaches. */
function get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((done, fail) => {
    const req = request(url, { headers, timeout: timeoutMs }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'timeout' })));
    req.once('error', fail);
    req.end();
  });
}

/** Resolves when `url` answers /health with 200 and accepts `apiKey`; else throws TypesenseUnreachable (one line). */
export async function checkTypesense(url: string, apiKey: string, timeoutMs = 5_000): Promise<void> {
  const status = async (path: string, headers: Record<string, string> = {}) => {
    try {
      return await get(`${url}${path}`, headers, timeoutMs);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new TypesenseUnreachable(`Typesense at ${url} is unreachable (${e.code === 'timeout' ? e.message : (e.code ?? e.message)})`);
    }
  };
  const health = await status('/health');
  if (health !== 200) throw new TypesenseUnreachable(`Typesense at ${url} is not healthy (GET /health answered ${health})`);
  const collections = await status('/collections', { 'X-TYPESENSE-API-KEY': apiKey });
  if (collections === 401 || collections === 403) throw new TypesenseUnreachable(`Typesense at ${url} rejected the API key (GET /collections answered ${collections})`);
  if (collections !== 200) throw new TypesenseUnreachable(`Typesense at ${url} answered GET /collections with ${collections}`);
}
