import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

/**
 * `fetch` for the agent's own process, over node:http. Node's global fetch (undici) parses HTTP
 * with llhttp compiled to WebAssembly, which stays resident once used: about 16 MB of an idle
 * agent's memory (measured: a process that made one fetch 64 MB, one node:http request 48 MB),
 * against an agent goal of 100 MB. node:http parses with the same llhttp built into the binary.
 *
 * Only what the agent uses is supported: http/https URLs, method, headers, a string body, an
 * AbortSignal. It answers a standard `Response` (its body a web stream) and fails the way fetch
 * does: a TypeError('fetch failed') whose `cause` carries the socket error's `code`, or the
 * signal's reason when aborted.
 */
export interface NodeFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export function nodeFetch(input: string | URL, init: NodeFetchInit = {}): Promise<Response> {
  const url = new URL(input);
  const request = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
  if (request === undefined) return Promise.reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
  const { signal } = init;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, signal }, (res) => {
      try {
        resolve(toResponse(res, init.method));
      } catch (err) {
        res.destroy();
        reject(new TypeError('fetch failed', { cause: err }));
      }
    });
    req.on('error', (err) => reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err })));
    req.end(init.body);
  });
}

function toResponse(res: IncomingMessage, method: string | undefined): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const status = res.statusCode ?? 0;
  // These answers have no body by definition; a Response refuses one.
  if (status === 204 || status === 205 || status === 304 || method === 'HEAD') {
    res.resume();
    return new Response(null, { status, statusText: res.statusMessage, headers });
  }
  return new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, statusText: res.statusMessage, headers });
}
