/**
 * A Runtime without a container engine, for tests of the core services. It
 * keeps volumes and containers in memory, records every call, and lets a
 * test decide how each executor's start ends: running, already exited, a
 * thrown error such as `ImagePullError`, or held until the test releases it.
 *
 * Like the runtimes of the contract suite, it refuses to start an executor
 * of a task after `removeTask`. Unlike the container CLI runtime,
 * `removeTask` does not wait for starts under way, as a Kubernetes API call
 * would not, so a start may create a container after the task was removed.
 */
import type {
  ContainerEvent,
  ContainerEventListener,
  ContainerStatus,
  ContainerWatch,
  ExecutorLogs,
  ExecutorRef,
  Runtime,
  RuntimeTask,
} from '../../functions/lib/runtime/runtime.js';
import { TaskRemovedError } from '../../functions/lib/runtime/errors.js';

/** One call to the runtime, in the order the services made them. */
export interface RuntimeCall {
  method: keyof Runtime;
  taskId?: string;
  executorIndex?: number;
}

/** How starts of one executor end. Without a test's choice, the container runs. */
export type StartOutcome =
  | { kind: 'running' }
  | { kind: 'exited'; exitCode: number; reason?: string }
  | { kind: 'throws'; error: Error };

/** A call held until the test releases it, to simulate a slow start or volume creation. */
export interface Hold {
  /** Resolves once the held call has begun. */
  reached: Promise<void>;
  /** Lets the held call go on. */
  release(): void;
}

export interface FakeRuntimeOptions {
  /** The clock of container start and end times. @defaultValue `() => new Date()` */
  now?: () => Date;
}

export class FakeRuntime implements Runtime {
  readonly calls: RuntimeCall[] = [];

  private readonly failures = new Map<keyof Runtime, Error>();
  private readonly volumes = new Set<string>();
  private readonly removed = new Set<string>();
  private readonly containers = new Map<string, ContainerStatus>();
  private readonly outcomes = new Map<string, StartOutcome>();
  private readonly logs = new Map<string, ExecutorLogs>();
  private readonly holds = new Map<string, { reached: () => void; released: Promise<void> }>();
  private readonly listeners = new Set<ContainerEventListener>();
  private readonly now: () => Date;

  constructor(options: FakeRuntimeOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  /** Sets how starts of the executor end from now on. */
  onStart(ref: ExecutorRef, outcome: StartOutcome): void {
    this.outcomes.set(keyOf(ref), outcome);
  }

  /**
   * Makes every later call of `method` throw `error` after recording the
   * call. Passing `undefined` ends the failures.
   */
  failCalls(method: keyof Runtime, error: Error | undefined): void {
    if (error) this.failures.set(method, error);
    else this.failures.delete(method);
  }

  /** Holds the next start of the executor until the test releases it. */
  holdStart(ref: ExecutorRef): Hold {
    return this.hold(`start:${keyOf(ref)}`);
  }

  /** Holds the next volume creation of the task until the test releases it. */
  holdVolume(taskId: string): Hold {
    return this.hold(`volume:${taskId}`);
  }

  /** Sets the stdout and stderr tails that `readExecutorLogs` returns. */
  setLogs(ref: ExecutorRef, logs: ExecutorLogs): void {
    this.logs.set(keyOf(ref), logs);
  }

  /**
   * Puts a container in place as if an earlier process had started it, for
   * example one that exited while no watch ran.
   */
  putContainer(status: Omit<ContainerStatus, 'containerId' | 'name'>): ContainerStatus {
    const container = { ...namesOf(status), ...status };
    this.containers.set(keyOf(status), container);
    return { ...container };
  }

  /** Ends a running container with `exitCode`, as its process would, and returns its status. */
  exit(ref: ExecutorRef, exitCode: number, reason?: string): ContainerStatus {
    const container = this.containers.get(keyOf(ref));
    if (!container) throw new Error(`fake runtime: no container of ${keyOf(ref)} to exit`);
    Object.assign(container, {
      state: 'exited',
      exitCode,
      endTime: this.now().toISOString(),
      reason: reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
    });
    return { ...container };
  }

  /** Returns the executor's container, or undefined, without recording a call. */
  container(ref: ExecutorRef): ContainerStatus | undefined {
    const container = this.containers.get(keyOf(ref));
    return container && { ...container };
  }

  hasVolume(taskId: string): boolean {
    return this.volumes.has(taskId);
  }

  /** The recorded calls of one method, optionally of one task only. */
  callsOf(method: keyof Runtime, taskId?: string): RuntimeCall[] {
    return this.calls.filter(
      (call) => call.method === method && (taskId === undefined || call.taskId === taskId),
    );
  }

  /** Sends a container event to every watch listener and waits for them. */
  async emit(event: ContainerEvent): Promise<void> {
    await Promise.all([...this.listeners].map((listener) => Promise.resolve(listener(event))));
  }

  async createVolume(task: RuntimeTask): Promise<void> {
    await this.record({ method: 'createVolume', taskId: task.id });
    await this.waitIfHeld(`volume:${task.id}`);
    this.volumes.add(task.id);
  }

  async deleteVolume(taskId: string): Promise<void> {
    await this.record({ method: 'deleteVolume', taskId });
    this.volumes.delete(taskId);
  }

  async volumeExists(taskId: string): Promise<boolean> {
    await this.record({ method: 'volumeExists', taskId });
    return this.volumes.has(taskId);
  }

  async startExecutor(task: RuntimeTask, executorIndex: number): Promise<ContainerStatus> {
    const ref = { taskId: task.id, executorIndex };
    await this.record({ method: 'startExecutor', ...ref });
    if (this.removed.has(task.id)) {
      throw new TaskRemovedError(task.id);
    }
    const existing = this.containers.get(keyOf(ref));
    if (existing) return { ...existing };

    await this.waitIfHeld(`start:${keyOf(ref)}`);
    const outcome = this.outcomes.get(keyOf(ref)) ?? { kind: 'running' };
    if (outcome.kind === 'throws') throw outcome.error;

    const container: ContainerStatus = {
      ...namesOf(ref),
      ...ref,
      image: task.executors[executorIndex]?.image ?? '',
      state: 'running',
      startTime: this.now().toISOString(),
    };
    this.containers.set(keyOf(ref), container);
    if (outcome.kind === 'exited') this.exit(ref, outcome.exitCode, outcome.reason);
    return { ...container };
  }

  async inspectExecutor(ref: ExecutorRef): Promise<ContainerStatus | undefined> {
    await this.record({ method: 'inspectExecutor', ...ref });
    return this.container(ref);
  }

  async readExecutorLogs(ref: ExecutorRef): Promise<ExecutorLogs> {
    await this.record({ method: 'readExecutorLogs', ...ref });
    return this.logs.get(keyOf(ref)) ?? { stdout: '', stderr: '' };
  }

  async stopExecutor(ref: ExecutorRef): Promise<void> {
    await this.record({ method: 'stopExecutor', ...ref });
    this.containers.delete(keyOf(ref));
  }

  async listContainers(taskId: string): Promise<ContainerStatus[]> {
    await this.record({ method: 'listContainers', taskId });
    return this.containersOf(taskId);
  }

  async listTaskIds(): Promise<string[]> {
    await this.record({ method: 'listTaskIds' });
    const ids = new Set(this.volumes);
    for (const container of this.containers.values()) ids.add(container.taskId);
    return [...ids].sort();
  }

  async removeTask(taskId: string): Promise<void> {
    await this.record({ method: 'removeTask', taskId });
    this.removed.add(taskId);
    for (const container of this.containersOf(taskId)) this.containers.delete(keyOf(container));
    this.volumes.delete(taskId);
  }

  watch(listener: ContainerEventListener): ContainerWatch {
    this.calls.push({ method: 'watch' });
    this.listeners.add(listener);
    return {
      close: () => {
        this.listeners.delete(listener);
        return Promise.resolve();
      },
    };
  }

  /** Records a call, then rejects when the test made the method fail. */
  private record(call: RuntimeCall): Promise<void> {
    this.calls.push(call);
    const failure = this.failures.get(call.method);
    return failure ? Promise.reject(failure) : Promise.resolve();
  }

  private containersOf(taskId: string): ContainerStatus[] {
    return [...this.containers.values()]
      .filter((container) => container.taskId === taskId)
      .sort((a, b) => a.executorIndex - b.executorIndex)
      .map((container) => ({ ...container }));
  }

  private hold(key: string): Hold {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.set(key, { reached, released });
    return { reached: reachedPromise, release };
  }

  private async waitIfHeld(key: string): Promise<void> {
    const hold = this.holds.get(key);
    if (!hold) return;
    this.holds.delete(key);
    hold.reached();
    await hold.released;
  }
}

function keyOf(ref: ExecutorRef): string {
  return `${ref.taskId}/${ref.executorIndex}`;
}

function namesOf(ref: ExecutorRef): { containerId: string; name: string } {
  return {
    containerId: `fake-${ref.taskId}-${ref.executorIndex}`,
    name: `poiesis-${ref.taskId}-${ref.executorIndex}`,
  };
}
