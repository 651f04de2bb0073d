/**
 * A lean HTTP/1.1 load generator for the hub benchmarks: pre-serialized bodies, a fixed number
 * of keep-alive connections, each with one request in flight (what an agent does), so the
 * measured rate is the hub's, not the client's.
 *
 * It writes requests and reads answers on raw TCP sockets: node:http's client costs about as much
 * CPU per request as the hub's own routing, and the benchmarks run client and hub on the same two
 * cores, so with it the client, not the hub, set the pace (a profile showed the hub ~38% idle).
 * Answers are read just enough to count them: the status line and Content-Length (the hub always
 * sends one); anything else fails the run loudly rather than miscounting.
 */
import { connect, type Socket } from 'node:net';

export interface LoadResult {
  /** Answers by HTTP status. */
  statuses: Map<number, number>;
  /** Requests answered with `okStatus` per second of the run. */
  okPerSecond: number;
  ms: number;
  sent: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;
const STATUS_LINE = /^HTTP\/1\.1 (\d{3}) /;

/** One keep-alive connection answering one request at a time. */
class Connection {
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve: (status: number) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the hub closed the connection')));
  }

  static open(host: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => {
        socket.off('error', reject);
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  send(head: string, body: Buffer): Promise<number> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(head);
      this.socket.write(body);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const end = this.buffer.indexOf(HEADER_END);
    if (end === -1) return;
    const head = this.buffer.toString('latin1', 0, end);
    const status = STATUS_LINE.exec(head);
    // 204 and 304 have no body by definition (and fastify sends them without a length).
    const length = status?.[1] === '204' || status?.[1] === '304' ? ['', '0'] : CONTENT_LENGTH.exec(head);
    if (status === null || length === null) {
      this.fail(new Error(`cannot count this answer: ${JSON.stringify(head.slice(0, 200))}`));
      return;
    }
    const total = end + HEADER_END.length + Number(length[1]);
    if (this.buffer.length < total) return;
    if (this.buffer.length > total) {
      this.fail(new Error('the hub sent bytes after the answer to the one request in flight'));
      return;
    }
    this.buffer = Buffer.alloc(0);
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(Number(status[1]));
  }

  private fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.pending?.reject(err);
    this.pending = undefined;
    this.socket.destroy();
  }
}

export class LoadClient {
  private readonly url: URL;
  private connections: Connection[] = [];

  constructor(base: string) {
    this.url = new URL(base);
  }

  /**
   * Sends `bodies[i]` as a JSON POST to `path` from `connections` concurrent loops until every
   * body is sent or `ms` has passed; counts answers by status.
   */
  async run(path: string, bodies: ReadonlyArray<Buffer | string>, options: { connections: number; ms: number; okStatus: number }): Promise<LoadResult> {
    // Fresh connections for every run: the hub may have closed idle ones between runs.
    this.close();
    this.connections = await Promise.all(Array.from({ length: options.connections }, () => Connection.open(this.url.hostname, Number(this.url.port))));
    const encoded = bodies.map((b) => (typeof b === 'string' ? Buffer.from(b) : b));
    const heads = new Map<number, string>();
    const headFor = (length: number) => {
      let head = heads.get(length);
      if (head === undefined) {
        head = `POST ${path} HTTP/1.1\r\nHost: ${this.url.host}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
        heads.set(length, head);
      }
      return head;
    };
    const statuses = new Map<number, number>();
    let next = 0;
    const start = performance.now();
    const end = start + options.ms;
    const loop = async (connection: Connection) => {
      while (next < encoded.length && performance.now() < end) {
        const body = encoded[next++]!;
        const status = await connection.send(headFor(body.length), body);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(this.connections.map(loop));
    const ms = performance.now() - start;
    return { statuses, okPerSecond: ((statuses.get(options.okStatus) ?? 0) * 1000) / ms, ms, sent: next };
  }

  close(): void {
    for (const connection of this.connections) connection.close();
    this.connections = [];
  }
}

/** `{ "200": n, "429": m }` for the result line. */
export function statusCounts(statuses: Map<number, number>): Record<string, number> {
  return Object.fromEntries([...statuses].sort(([a], [b]) => a - b).map(([status, n]) => [String(status), n]));
}
