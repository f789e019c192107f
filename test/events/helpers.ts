/**
 * Local HTTP servers for the event tests, such as a subscriber that records
 * each request and responds as the test sets.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { pino } from 'pino';
import type { CloudEvent } from 'cloudevents';
import type { Delay } from '../../functions/lib/events/delivery.js';
import { toCloudEvent } from '../../functions/lib/events/http-binding.js';

/** Returns a delay that records each wait and returns at once, unless aborted. */
export function recordingDelay(): { waits: number[]; delay: Delay } {
  const waits: number[] = [];
  const delay: Delay = async (ms, signal) => {
    signal.throwIfAborted();
    waits.push(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { waits, delay };
}

/** Polls `condition` every 10 ms until it holds; rejects after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A logger that writes nothing. */
export const silentLogger = pino({ level: 'silent' });

export interface RecordedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The request as a CloudEvent, when it is one. */
  event?: CloudEvent<unknown>;
}

export interface Reply {
  status: number;
  body?: string;
  /** Milliseconds to wait before responding. `Infinity` never responds. */
  delayMs?: number;
}

export interface Recorder {
  url: string;
  requests: RecordedRequest[];
  /** Resolves once at least `count` requests arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a subscriber on 127.0.0.1 that records every request and responds
 * with `reply(request, index)`, where `index` counts requests from 0.
 */
export async function startRecorder(
  reply: (request: RecordedRequest, index: number) => Reply = () => ({ status: 202 }),
): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const waiters: Array<() => void> = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        headers: req.headers,
        body: body.toString('utf8'),
      };
      try {
        recorded.event = toCloudEvent(req.headers, body);
      } catch {
        // Not an event; the test looks at the raw request.
      }
      const index = requests.push(recorded) - 1;
      for (const wake of waiters.splice(0)) wake();

      const response = reply(recorded, index);
      const send = () => {
        res.statusCode = response.status;
        res.end(response.body ?? '');
      };
      if (response.delayMs === Infinity) return;
      if (response.delayMs) setTimeout(send, response.delayMs);
      else send();
    });
  });
  const url = await listen(server);

  return {
    url,
    requests,
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > deadline) {
          throw new Error(
            `expected ${count} requests within ${timeoutMs} ms, got ${requests.length}`,
          );
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    close: () => closeServer(server),
  };
}

/** Serves a Koa app on 127.0.0.1; resolves with its URL and a close function. */
export async function serveKoa(app: Koa): Promise<{ url: string; close: () => Promise<void> }> {
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res));
  const url = await listen(server);
  return { url, close: () => closeServer(server) };
}

/** Returns a URL on 127.0.0.1 where nothing listens. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  const url = await listen(server);
  await closeServer(server);
  return url;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}/`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
