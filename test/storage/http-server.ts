/**
 * A real HTTP server on 127.0.0.1 and a random port for the storage tests,
 * with one route per behavior under test.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Size of the generated `/large` response: 200 MiB. */
export const LARGE_SIZE = 200 * 1024 * 1024;

/** Bytes of one chunk of `/large`, a repeating pattern that is never stored whole. */
const LARGE_CHUNK = Buffer.alloc(64 * 1024, 'poiesis-');

export class TestHttpServer {
  /** 1 MiB of random bytes served at `/data.bin`. */
  readonly data = randomBytes(1024 * 1024);
  private readonly server: http.Server;

  private constructor() {
    this.server = http.createServer((request, response) => this.route(request, response));
  }

  /** Returns the SHA-256 hex digest of the `/large` body. */
  static largeSha256(): string {
    const hash = createHash('sha256');
    for (let sent = 0; sent < LARGE_SIZE; sent += LARGE_CHUNK.length) hash.update(LARGE_CHUNK);
    return hash.digest('hex');
  }

  static async start(): Promise<TestHttpServer> {
    const server = new TestHttpServer();
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  /** Returns the absolute URL of `route` on this server. */
  url(route: string): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}${route}`;
  }

  async stop(): Promise<void> {
    // Stalled routes keep their sockets open until destroyed.
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    switch (url.pathname) {
      case '/data.bin':
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.end(this.data);
        return;
      case '/empty':
        response.writeHead(200, { 'content-length': '0' });
        response.end();
        return;
      case '/redirect':
        response.writeHead(302, { location: '/redirect-again' });
        response.end();
        return;
      case '/redirect-again':
        response.writeHead(301, { location: this.url('/data.bin') });
        response.end();
        return;
      case '/redirect-to-missing':
        response.writeHead(307, { location: '/missing' });
        response.end();
        return;
      case '/redirect-to':
        // Redirects to the URL in the `to` query parameter, such as another server.
        response.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
        response.end();
        return;
      case '/authorization':
        // Echoes the request's authorization header, or `none`.
        response.writeHead(200);
        response.end(request.headers.authorization ?? 'none');
        return;
      case '/server-error':
        response.writeHead(500);
        response.end('boom');
        return;
      case '/no-headers':
        // Never responds, so the client's headers timeout fires.
        return;
      case '/stalled-body':
        response.writeHead(200, { 'content-length': '1000' });
        response.write(Buffer.alloc(100, 1));
        return;
      case '/aborted':
        response.writeHead(200, { 'content-length': '1000' });
        response.write(Buffer.alloc(100, 1), () => response.socket?.destroy());
        return;
      case '/large':
        this.sendLarge(response);
        return;
      default:
        response.writeHead(404);
        response.end('not found');
    }
  }

  /** Writes `LARGE_SIZE` bytes, waiting for `drain` so the server's own memory stays flat. */
  private sendLarge(response: http.ServerResponse): void {
    response.writeHead(200, { 'content-length': String(LARGE_SIZE) });
    let sent = 0;
    const writeMore = () => {
      while (sent < LARGE_SIZE) {
        sent += LARGE_CHUNK.length;
        if (!response.write(LARGE_CHUNK)) {
          response.once('drain', writeMore);
          return;
        }
      }
      response.end();
    };
    writeMore();
  }
}
