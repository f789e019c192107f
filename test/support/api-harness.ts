/**
 * Starts the API app on a loopback port with a real SQLite store in a
 * temporary data directory, and records the events it sends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createApi, API_PREFIX, type TaskEventSink } from '../../functions/api/index.js';
import { loadConfig } from '../../functions/lib/config.js';
import { configureLogging } from '../../functions/lib/logging.js';
import { openSqliteTaskStore } from '../../functions/lib/store/sqlite.js';
import type { TaskStore } from '../../functions/lib/store/store.js';

configureLogging('silent');

export class RecordingEvents implements TaskEventSink {
  readonly sent: Array<{ kind: string; taskId: string }> = [];
  failing = false;

  taskCreated(taskId: string): Promise<void> {
    return this.record('taskCreated', taskId);
  }

  cancelRequested(taskId: string): Promise<void> {
    return this.record('cancelRequested', taskId);
  }

  private record(kind: string, taskId: string): Promise<void> {
    if (this.failing) return Promise.reject(new Error('broker unreachable'));
    this.sent.push({ kind, taskId });
    return Promise.resolve();
  }
}

export interface ApiHarness {
  url: string;
  dataDir: string;
  store: TaskStore;
  events: RecordingEvents;
  /** Sends a request to a path under the TES prefix and parses JSON responses. */
  request(
    method: string,
    pathAndQuery: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** Stops the server and closes the store, keeping the data directory. */
  stop(): Promise<void>;
  /** Stops and deletes the data directory. */
  destroy(): Promise<void>;
}

export async function startApi(
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<ApiHarness> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'poiesis-api-'));
  const config = loadConfig({ dataDir, port: 0 }, { ...options.env });
  const store = await openSqliteTaskStore(path.join(dataDir, 'poiesis.db'));
  const events = new RecordingEvents();
  const app = createApi(config, {
    store,
    events,
    storage: ['file:///tmp', 'http://', 'https://'],
    inputSchemes: ['file', 'http', 'https'],
    outputSchemes: ['file'],
    backendParameters: ['network'],
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}${API_PREFIX}`;

  const harness: ApiHarness = {
    url,
    dataDir,
    store,
    events,
    async request(method, pathAndQuery, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body =
          typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${url}${pathAndQuery}`, init);
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON: the raw text is returned for the test to inspect.
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async stop() {
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      await store.close();
    },
    async destroy() {
      await harness.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The smallest valid task, with overrides. */
export function minimalTask(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { executors: [{ image: 'alpine', command: ['echo', 'hi'] }], ...overrides };
}
