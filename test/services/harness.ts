/**
 * The four core services, built on a real SQLite store in a temporary
 * directory, a fake runtime, fake filers, a recording publisher and a clock
 * the test moves. It also serves a service's Koa app on 127.0.0.1 and
 * delivers events to it in binary content mode.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Koa from 'koa';
import type { CloudEventV1 } from 'cloudevents';
import type { FlowContext } from '../../functions/lib/flow/context.js';
import { postEvent } from '../../functions/lib/events/http-binding.js';
import { configureLogging } from '../../functions/lib/logging.js';
import { openSqliteTaskStore, type SqliteTaskStore } from '../../functions/lib/store/sqlite.js';
import { emptyTaskLog } from '../../functions/lib/store/store.js';
import { newTaskId } from '../../functions/lib/tes/ids.js';
import type {
  Task,
  TesExecutor,
  TesExecutorLog,
  TesInput,
  TesOutput,
  TesState,
} from '../../functions/lib/tes/schemas.js';
import { ExecutorMonitor } from '../../functions/texam/monitor.js';
import { Orchestrator } from '../../functions/torc/orchestrator.js';
import { Reconciler } from '../../functions/torc/reconciler.js';
import { serveKoa, silentLogger } from '../events/helpers.js';
import { FakeFilers } from './fake-filers.js';
import { FakeRuntime } from './fake-runtime.js';
import { RecordingPublisher } from './recording-publisher.js';

// The receivers log every rejected event, and the tests reject many on purpose.
configureLogging('silent');

/** A clock that moves only when the test advances it. */
export class FakeClock {
  private current: number;

  constructor(start = '2026-03-04T05:06:07.000Z') {
    this.current = Date.parse(start);
  }

  readonly now = (): Date => new Date(this.current);

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }

  /** Returns the current time in RFC 3339, as the services write it. */
  iso(): string {
    return this.now().toISOString();
  }
}

/** The parts of a task a test chooses. The rest takes simple defaults. */
export interface TaskSpec {
  /** @defaultValue `'QUEUED'` */
  state?: TesState;
  /** @defaultValue one executor running `true` in `alpine` */
  executors?: TesExecutor[];
  inputs?: TesInput[];
  outputs?: TesOutput[];
  /** Executor logs of the task's current run. */
  executorLogs?: TesExecutorLog[];
}

export class ServiceHarness {
  readonly runtime: FakeRuntime;
  readonly publisher = new RecordingPublisher();
  readonly filers = new FakeFilers();
  readonly clock = new FakeClock();
  readonly orchestrator: Orchestrator;
  readonly reconciler: Reconciler;
  readonly monitor: ExecutorMonitor;

  private constructor(
    readonly directory: string,
    readonly store: SqliteTaskStore,
  ) {
    this.runtime = new FakeRuntime({ now: this.clock.now });
    const flow = this.flow;
    this.orchestrator = new Orchestrator({ ...flow, runtime: this.runtime, filers: this.filers });
    this.reconciler = new Reconciler({
      ...flow,
      orchestrator: this.orchestrator,
      filers: this.filers,
      runtime: this.runtime,
    });
    this.monitor = new ExecutorMonitor({ ...flow, runtime: this.runtime });
  }

  /** Builds the services on a new store in a new temporary directory. */
  static async start(): Promise<ServiceHarness> {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'poiesis-services-'));
    const store = await openSqliteTaskStore(path.join(directory, 'poiesis.db'), {
      logger: silentLogger,
    });
    return new ServiceHarness(directory, store);
  }

  /** The context the services are built with, for the TIF and TOF apps. */
  get flow(): FlowContext {
    return {
      store: this.store,
      publisher: this.publisher,
      logger: silentLogger,
      now: this.clock.now,
    };
  }

  /** Stores a task as the API would, already in `spec.state`. */
  async addTask(spec: TaskSpec = {}): Promise<Task> {
    const state = spec.state ?? 'QUEUED';
    const log = emptyTaskLog();
    if (state !== 'QUEUED') log.start_time = this.clock.iso();
    log.logs = spec.executorLogs ?? [];
    const task: Task = {
      id: newTaskId(),
      state,
      executors: spec.executors ?? [{ image: 'alpine', command: ['true'] }],
      creation_time: this.clock.iso(),
      logs: [log],
      ...(spec.inputs ? { inputs: spec.inputs } : {}),
      ...(spec.outputs ? { outputs: spec.outputs } : {}),
    };
    await this.store.create(task);
    return task;
  }

  /** Reads a task that must exist. */
  async task(id: string): Promise<Task> {
    const task = await this.store.get(id);
    if (!task) throw new Error(`task ${id} is not in the store`);
    return task;
  }

  /** Waits for the background work of the services: container starts and teardowns. */
  async settle(): Promise<void> {
    await this.monitor.drain();
    await this.orchestrator.drain();
  }

  async close(): Promise<void> {
    await this.settle();
    await this.store.close();
    fs.rmSync(this.directory, { recursive: true, force: true });
  }
}

/** A Koa app served on 127.0.0.1 for the length of a test. */
export interface ServedApp {
  /** POSTs `event` in binary content mode to `route` and returns the response. */
  deliver(event: CloudEventV1<unknown>, route?: string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

/** Serves `app` on a free loopback port. */
export async function serve(app: Koa): Promise<ServedApp> {
  const { url, close } = await serveKoa(app);
  return {
    async deliver(event, route = '/') {
      const target = new URL(route, url);
      const response = await postEvent(target, event, { timeoutMs: 5000 });
      return { status: response.status, body: response.body.toString('utf8') };
    },
    close,
  };
}

/** Polls `condition` every 5 ms until it holds, and rejects after `timeoutMs`. */
export async function eventually(
  condition: () => Promise<boolean>,
  timeoutMs = 2000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
