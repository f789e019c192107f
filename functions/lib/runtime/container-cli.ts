/**
 * The Runtime of the embedded home: executors run as podman or docker
 * containers, started through the CLI, on a host directory per task (see
 * `layout.ts`).
 *
 * Containers run detached and carry labels (see `container-status.ts`), so
 * a restarted process finds them, their exit codes and, through the log
 * files in the task directory, their output. Each container runs the
 * busybox helper of `helper.ts` as its entrypoint, which wires stdin,
 * stdout and stderr without needing a shell in the image.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { access, chmod, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { componentLogger, type Logger } from '../logging.js';
import type { TesExecutor } from '../tes/schemas.js';
import { ContainerEngine, type ExecFileFunction } from './engine.js';
import {
  ContainerEngineError,
  ContainerStartError,
  TaskRemovedError,
  ImagePullError,
} from './errors.js';
import {
  LABELS,
  containerName,
  taskIdOfContainerName,
  toContainerStatus,
} from './container-status.js';
import { envArguments } from './env-file.js';
import { TaskLayout } from './layout.js';
import { ContainerRemover } from './container-removal.js';
import { readTail } from './log-tail.js';
import {
  UNMOUNTABLE,
  buildRunArguments,
  checkImageName,
  resourceArguments,
} from './run-arguments.js';
import { planMounts, type MountPlan, type PlannedMount } from './mounts.js';
import { ExitHints } from './exit-hints.js';
import { PollingWatcher } from './poll-watcher.js';
import type {
  ContainerEventListener,
  ContainerStatus,
  ContainerWatch,
  ExecutorLogs,
  ExecutorRef,
  Runtime,
  RuntimeTask,
  WatchOptions,
} from './runtime.js';

/** Executor directories keep their mode 0777 so that containers running as any user can write. */
const SHARED_DIRECTORY_MODE = 0o777;

export interface ContainerCliRuntimeOptions {
  /** Directory holding one directory per task, usually `<dataDir>/tasks`. */
  tasksDir: string;
  /** Engine binary name or path; when unset, podman and then docker, whichever runs first. */
  engine?: string;
  /**
   * Extra arguments of every `run`, placed before the image. Hosts whose
   * hard limits are below podman's defaults need, for example,
   * `--ulimit nofile=10000:10000 --ulimit nproc=9000:9000`.
   */
  runArguments?: readonly string[];
  /**
   * Host path of a static busybox, mounted read-only into every executor.
   * Its `sh` must support `exec -a`, as Debian's busybox-static 1.35 does.
   * @defaultValue `/bin/busybox`
   */
  helperBinary?: string;
  /** Maximum size of each of the stdout and stderr tails, in bytes. @defaultValue 65536 */
  logTailBytes?: number;
  /** Time a stopped container gets to exit before it is killed, in seconds. @defaultValue 3 */
  stopTimeoutSeconds?: number;
  /** Time between two polls of the watcher, in ms. @defaultValue 1000 */
  pollIntervalMs?: number;
  /** Time limit of an image pull, in ms. @defaultValue 600000 */
  pullTimeoutMs?: number;
  /** Time limit of other engine calls, in ms. @defaultValue 60000 */
  commandTimeoutMs?: number;
  /**
   * Highest `--cpus` value; larger `cpu_cores` requests are lowered to it,
   * because the engines refuse more CPUs than the host has.
   * @defaultValue the number of CPUs of this host
   */
  maxCpus?: number;
  execFile?: ExecFileFunction;
  logger?: Logger;
}

/**
 * How long a removed task is remembered, so that a start arriving late,
 * from a delayed or duplicated event, is refused; in milliseconds.
 */
const REMOVED_TASK_MEMORY_MS = 10 * 60 * 1000;

/** A container that `run --detach` started. */
interface StartedRun {
  containerId: string;
  /** Time just before the `run` call, which is no later than the container's start. */
  runAt: Date;
}

/** Runs executors as podman or docker containers on a host directory per task. */
export class ContainerCliRuntime implements Runtime {
  private readonly tasksDir: string;
  private readonly engine: ContainerEngine;
  private readonly runArguments: readonly string[];
  private readonly helperBinary: string;
  private readonly logTailBytes: number;
  private readonly stopTimeoutSeconds: number;
  private readonly pollIntervalMs: number;
  private readonly pullTimeoutMs: number;
  private readonly maxCpus: number;
  private readonly logger: Logger;
  private readonly remover: ContainerRemover;
  /** Executor starts under way, by task id; `removeTask` waits for them. */
  private readonly starts = new Map<string, Set<Promise<unknown>>>();
  /**
   * Tasks removed lately, by id, with the time of removal. A start for one
   * of them is refused, so a late start cannot bring a container back after
   * the task's teardown; entries expire after {@link REMOVED_TASK_MEMORY_MS}.
   */
  private readonly removedTasks = new Map<string, number>();

  constructor(options: ContainerCliRuntimeOptions) {
    this.tasksDir = path.resolve(options.tasksDir);
    this.engine = new ContainerEngine({
      binary: options.engine,
      commandTimeoutMs: options.commandTimeoutMs,
      execFile: options.execFile,
    });
    this.runArguments = options.runArguments ?? [];
    this.helperBinary = options.helperBinary ?? '/bin/busybox';
    this.logTailBytes = options.logTailBytes ?? 64 * 1024;
    this.stopTimeoutSeconds = options.stopTimeoutSeconds ?? 3;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.pullTimeoutMs = options.pullTimeoutMs ?? 600_000;
    this.maxCpus = options.maxCpus ?? availableParallelism();
    this.logger = options.logger ?? componentLogger('runtime');
    this.remover = new ContainerRemover({
      engine: this.engine,
      labels: this.runtimeLabels(),
      stopTimeoutSeconds: this.stopTimeoutSeconds,
      logger: this.logger,
    });
    const unmountable = [this.tasksDir, this.helperBinary].find((p) => UNMOUNTABLE.test(p));
    if (unmountable !== undefined) {
      throw new RangeError(`host path ${unmountable} contains , " or a line break; use another`);
    }
  }

  /** Returns the engine binary in use, such as `podman`, detecting it on first use. */
  engineBinary(): Promise<string> {
    return this.engine.binary();
  }

  /** Returns the host layout of a task's directory, which the filers read and write through. */
  layout(taskId: string): TaskLayout {
    return new TaskLayout(this.tasksDir, taskId);
  }

  async createVolume(task: RuntimeTask): Promise<void> {
    const layout = this.layout(task.id);
    await this.prepareVolume(layout, planMounts(task));
    this.logger.debug({ taskId: task.id, dir: layout.root }, 'task volume created');
  }

  async deleteVolume(taskId: string): Promise<void> {
    const layout = this.layout(taskId);
    // A container that still runs may add a file while the tree is removed, so
    // rm can fail with ENOTEMPTY. It retries that error a few times.
    await rm(layout.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    this.logger.debug({ taskId, dir: layout.root }, 'task volume deleted');
  }

  async volumeExists(taskId: string): Promise<boolean> {
    try {
      return (await stat(this.layout(taskId).root)).isDirectory();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /**
   * Starts an executor in these steps:
   * 1. plan the mounts and create their host directories;
   * 2. run the container detached; when `run` fails because the image is
   *    missing, pull it and run again, and when the name is taken, the
   *    container exists already and is returned as it is;
   * 3. return its status.
   * Trying `run` first spares the common case two engine calls.
   */
  async startExecutor(task: RuntimeTask, executorIndex: number): Promise<ContainerStatus> {
    if (this.removedTasks.has(task.id)) throw new TaskRemovedError(task.id);
    const start = this.createExecutor(task, executorIndex);
    const starts = this.starts.get(task.id) ?? new Set<Promise<unknown>>();
    starts.add(start);
    this.starts.set(task.id, starts);
    try {
      return await start;
    } finally {
      starts.delete(start);
      if (starts.size === 0) this.starts.delete(task.id);
    }
  }

  private async createExecutor(task: RuntimeTask, executorIndex: number): Promise<ContainerStatus> {
    const executor = task.executors[executorIndex];
    if (executor === undefined) {
      throw new RangeError(`task ${task.id} has no executor ${executorIndex}`);
    }
    const ref = { taskId: task.id, executorIndex };
    const layout = this.layout(task.id);
    const plan = planMounts(task);
    await this.checkHelperBinary(containerName(ref));
    await this.prepareVolume(layout, plan);
    await this.prepareExecutorDirectory(layout, executorIndex);
    checkImageName(executor.image);
    const started = await this.runContainer(task, executorIndex, layout, plan.mounts);
    if (started) {
      const { containerId, runAt } = started;
      // `run --detach` returns once the process runs, so no inspect is needed to say so.
      this.logger.info(
        { taskId: task.id, executorIndex, containerId, image: executor.image },
        'executor container started',
      );
      return {
        ...ref,
        containerId,
        name: containerName(ref),
        image: executor.image,
        state: 'running',
        // The time before `run`, because a short command may have ended by the time `run` returns.
        startTime: runAt.toISOString(),
      };
    }

    // Another call started it: its status comes from the engine, by name.
    const [status] = await this.inspectStatuses([containerName(ref)]);
    if (status === undefined) {
      throw new ContainerStartError(
        containerName(ref),
        'the container was removed right after it started',
      );
    }
    this.logger.info(
      { taskId: task.id, executorIndex, containerId: status.containerId, image: executor.image },
      'executor container started',
    );
    return status;
  }

  async inspectExecutor(ref: ExecutorRef): Promise<ContainerStatus | undefined> {
    const ids = await this.engine.listIds(this.executorLabels(ref));
    const [status] = await this.inspectStatuses(ids);
    return status;
  }

  async readExecutorLogs(ref: ExecutorRef): Promise<ExecutorLogs> {
    const layout = this.layout(ref.taskId);
    const [stdout, stderr] = await Promise.all([
      readTail(layout.stdoutFile(ref.executorIndex), this.logTailBytes),
      readTail(layout.stderrFile(ref.executorIndex), this.logTailBytes),
    ]);
    return { stdout, stderr };
  }

  async stopExecutor(ref: ExecutorRef): Promise<void> {
    const containers = await this.engine.listStates(this.executorLabels(ref));
    await this.remover.stopAndRemove(containers);
    this.logger.info(
      { taskId: ref.taskId, executorIndex: ref.executorIndex, containers: containers.length },
      'executor container stopped and removed',
    );
  }

  async listContainers(taskId: string): Promise<ContainerStatus[]> {
    const ids = await this.engine.listIds(this.taskLabels(taskId));
    const statuses = await this.inspectStatuses(ids);
    return statuses.sort((a, b) => a.executorIndex - b.executorIndex);
  }

  async listTaskIds(): Promise<string[]> {
    const ids = new Set<string>();
    try {
      for (const entry of await readdir(this.tasksDir, { withFileTypes: true })) {
        if (entry.isDirectory()) ids.add(entry.name);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // Names carry the task id, so a listing serves without inspecting every container.
    for (const { name } of await this.engine.listStates(this.runtimeLabels())) {
      const taskId = taskIdOfContainerName(name);
      if (taskId !== undefined) ids.add(taskId);
    }
    return [...ids].sort();
  }

  /**
   * Removes everything of the task. Starts under way finish first, so that
   * their containers are removed too, and later starts are refused.
   */
  async removeTask(taskId: string): Promise<void> {
    this.forgetOldRemovals();
    this.removedTasks.set(taskId, Date.now());
    await Promise.allSettled([...(this.starts.get(taskId) ?? [])]);
    const containers = await this.remover.removeTask(taskId);
    await this.deleteVolume(taskId);
    this.logger.info({ taskId, containers }, 'task containers and volume removed');
  }

  /**
   * Polls the engine every `pollIntervalMs`, and inspects a container at
   * once whenever the engine's event stream announces that it died.
   */
  watch(listener: ContainerEventListener, options: WatchOptions = {}): ContainerWatch {
    const watcher = new PollingWatcher({
      list: () => this.engine.listStates(this.runtimeLabels()),
      inspect: (ids) => this.inspectStatuses(ids),
      removedByRuntime: (id) => this.remover.removed(id),
      intervalMs: this.pollIntervalMs,
      listener,
      onError: options.onError,
      logger: this.logger,
    });
    let hints: ExitHints | undefined;
    let closed = false;
    this.engine.binary().then(
      (binary) => {
        if (closed) return;
        hints = new ExitHints({
          binary,
          labels: this.runtimeLabels(),
          onHint: (containerId) => watcher.inspectNow(containerId),
          logger: this.logger,
        });
      },
      // Without an engine every poll fails too, and reports the error.
      () => undefined,
    );
    return {
      close: async () => {
        closed = true;
        hints?.close();
        await watcher.close();
      },
    };
  }

  private forgetOldRemovals(): void {
    const oldest = Date.now() - REMOVED_TASK_MEMORY_MS;
    for (const [taskId, removedAt] of this.removedTasks) {
      if (removedAt < oldest) this.removedTasks.delete(taskId);
    }
  }

  private runtimeLabels(): Record<string, string> {
    return { [LABELS.managed]: 'true', [LABELS.tasksDir]: this.tasksDir };
  }

  private taskLabels(taskId: string): Record<string, string> {
    // Validates the id before it goes into a filter.
    this.layout(taskId);
    return { ...this.runtimeLabels(), [LABELS.taskId]: taskId };
  }

  private executorLabels(ref: ExecutorRef): Record<string, string> {
    return { ...this.taskLabels(ref.taskId), [LABELS.executorIndex]: String(ref.executorIndex) };
  }

  private async inspectStatuses(ids: readonly string[]): Promise<ContainerStatus[]> {
    const statuses: ContainerStatus[] = [];
    for (const container of await this.engine.inspect(ids)) {
      const status = toContainerStatus(container);
      if (status === undefined) continue;
      // The engine misses an OOM kill of a process other than the container's first one.
      if (status.state === 'exited' && (await this.helperReason(status)) === 'OOMKilled') {
        status.reason = 'OOMKilled';
      }
      statuses.push(status);
    }
    return statuses;
  }

  /** The reason the helper recorded, such as `OOMKilled`, or undefined. */
  private async helperReason(ref: ExecutorRef): Promise<string | undefined> {
    const text = await readTail(this.layout(ref.taskId).reasonFile(ref.executorIndex), 256);
    return text.trim() || undefined;
  }

  private async checkHelperBinary(name: string): Promise<void> {
    try {
      await access(this.helperBinary);
    } catch (error) {
      throw new ContainerStartError(
        name,
        `the helper binary ${this.helperBinary} is missing; install busybox-static or configure the path of a static busybox`,
        { cause: error },
      );
    }
  }

  /** Creates the task directory, the directories of the plan and the host side of every mount. */
  private async prepareVolume(layout: TaskLayout, plan: MountPlan): Promise<void> {
    await mkdir(layout.root, { recursive: true, mode: 0o700 });
    await mkdir(layout.fsRoot, { recursive: true });
    for (const directory of plan.directories) {
      const hostPath = layout.hostPath(directory);
      await mkdir(hostPath, { recursive: true });
      await chmod(hostPath, SHARED_DIRECTORY_MODE);
    }
    for (const mount of plan.mounts.filter((mount) => mount.type === 'FILE')) {
      // A bind mount needs its source to exist; an output file starts empty.
      const hostPath = layout.hostPath(mount.path);
      await mkdir(path.dirname(hostPath), { recursive: true });
      await (await open(hostPath, 'a', 0o666)).close();
    }
  }

  private async prepareExecutorDirectory(layout: TaskLayout, index: number): Promise<void> {
    const directory = layout.executorDir(index);
    await mkdir(directory, { recursive: true });
    await chmod(directory, SHARED_DIRECTORY_MODE);
  }

  /** Pulls the image unless it is present. @throws ImagePullError */
  private async ensureImage(image: string): Promise<void> {
    if (await this.engine.imageExists(image)) return;
    this.logger.info({ image }, 'pulling image');
    try {
      await this.engine.run(['pull', image], { timeoutMs: this.pullTimeoutMs });
    } catch (error) {
      if (error instanceof ContainerEngineError) {
        throw new ImagePullError(image, error.detail, { cause: error });
      }
      throw error;
    }
    this.logger.info({ image }, 'image pulled');
  }

  private async runContainer(
    task: RuntimeTask,
    executorIndex: number,
    layout: TaskLayout,
    mounts: readonly PlannedMount[],
  ): Promise<StartedRun | undefined> {
    const executor = task.executors[executorIndex] as TesExecutor;
    const ref = { taskId: task.id, executorIndex };
    const name = containerName(ref);
    // A name of its own per call, so a concurrent start cannot delete this file before `run` reads it.
    const envFile = path.join(layout.executorDir(executorIndex), `env-${randomUUID()}`);
    const env = await envArguments(envFile, executor.env ?? {});
    if (env.dropped.length > 0) {
      this.logger.warn(
        { taskId: task.id, executorIndex, names: env.dropped },
        'environment names that are not shell identifiers are not passed to the executor',
      );
    }
    const resources = resourceArguments(task.resources, this.maxCpus);
    if (resources.cappedCpus !== undefined) {
      this.logger.warn(
        { taskId: task.id, requested: task.resources?.cpu_cores, cpus: resources.cappedCpus },
        'cpu_cores is above the CPU count of the host, so the container gets the CPU count',
      );
    }
    const args = buildRunArguments({
      name,
      labels: this.executorLabels(ref),
      executor,
      helperBinary: this.helperBinary,
      logDirectory: layout.executorDir(executorIndex),
      mounts: mounts.map((mount) => ({ ...mount, source: layout.hostPath(mount.path) })),
      envArguments: env.args,
      resourceArguments: resources.args,
      extraArguments: this.runArguments,
    });
    try {
      // The executor's directory as working directory keeps what the engine leaves there with the task.
      return await this.runOrPull(args, executor.image, ref, layout.executorDir(executorIndex));
    } finally {
      await rm(envFile, { force: true });
    }
  }

  /**
   * Runs `run`; when it fails on a missing image, pulls the image and runs
   * again. Returns what `run` printed, or undefined when another call had
   * started the container already.
   */
  private async runOrPull(
    args: string[],
    image: string,
    ref: ExecutorRef,
    cwd: string,
  ): Promise<StartedRun | undefined> {
    try {
      return await this.runDetached(args, cwd);
    } catch (error) {
      if (!(error instanceof ContainerEngineError)) throw error;
      if (await this.engine.imageExists(image)) {
        await this.recoverFailedRun(ref, error);
        return undefined;
      }
    }
    await this.ensureImage(image);
    try {
      return await this.runDetached(args, cwd);
    } catch (error) {
      if (!(error instanceof ContainerEngineError)) throw error;
      await this.recoverFailedRun(ref, error);
      return undefined;
    }
  }

  /** Runs `run --detach` and returns the id it printed with the time it was called. */
  private async runDetached(args: readonly string[], cwd: string): Promise<StartedRun> {
    const runAt = new Date();
    const { stdout } = await this.engine.run(args, { cwd });
    return { containerId: stdout.trim(), runAt };
  }

  /**
   * Decides what a failed `run` means. A container that runs or ran
   * cleanly was started by a concurrent call for the same executor, which
   * is success. A container left behind in `created`, or one the engine
   * marks with an error, is removed so that a retry can start afresh.
   */
  private async recoverFailedRun(ref: ExecutorRef, error: ContainerEngineError): Promise<void> {
    const existing = await this.inspectExecutor(ref);
    const healthy =
      existing !== undefined &&
      existing.message === undefined &&
      (existing.state === 'running' || existing.state === 'exited');
    if (healthy) return;
    if (existing !== undefined) {
      await this.remover.stopAndRemove([
        { id: existing.containerId, name: existing.name, state: existing.state },
      ]);
    }
    throw new ContainerStartError(containerName(ref), error.detail, { cause: error });
  }
}
