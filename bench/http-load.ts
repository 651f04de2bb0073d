/**
 * A lean HTTP/1.1 load generator for the hub benchmarks: pre-serialized bodies, a fixed number
 * of keep-alive connections, each with one request in flight (what an agent does), so the
 * measured rate is the hub's, not the client's JSON or fetch machinery.
 */
import { Agent, request } from 'node:http';

export interface LoadResult {
  /** Answers by HTTP status. */
  statuses: Map<number, number>;
  /** Requests answered with `okStatus` per second of the run. */
  okPerSecond: number;
  ms: number;
  sent: number;
}

export class LoadClient {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(base: string, connections: number) {
    this.url = new URL(base);
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
  }

  /** One POST with a JSON body; resolves with the status once the answer has been read. */
  post(path: string, body: Buffer | string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Sends `bodies[i]` to `path` from `connections` concurrent loops until every body is sent or
   * `ms` has passed; counts answers by status.
   */
  async run(path: string, bodies: ReadonlyArray<Buffer | string>, options: { connections: number; ms: number; okStatus: number }): Promise<LoadResult> {
    const statuses = new Map<number, number>();
    let next = 0;
    const start = performance.now();
    const end = start + options.ms;
    const loop = async () => {
      while (next < bodies.length && performance.now() < end) {
        const status = await this.post(path, bodies[next++]!);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: options.connections }, loop));
    const ms = performance.now() - start;
    return { statuses, okPerSecond: ((statuses.get(options.okStatus) ?? 0) * 1000) / ms, ms, sent: next };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** `{ "200": n, "429": m }` for the result line. */
export function statusCounts(statuses: Map<number, number>): Record<string, number> {
  return Object.fromEntries([...statuses].sort(([a], [b]) => a - b).map(([status, n]) => [String(status), n]));
}
