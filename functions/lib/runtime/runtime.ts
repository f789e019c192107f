/**
 * The Runtime adapter: where a task's volume lives and its executors run.
 *
 * The embedded home runs containers through the podman or docker CLI on a
 * host directory per task; Kubernetes runs pods on a PersistentVolumeClaim
 * per task. Both implement this interface and pass the contract suite in
 * `test/runtime/contract.ts` unchanged, so nothing here names an engine.
 *
 * Every method is idempotent, because Knative may deliver an event twice:
 * starting an executor whose container already exists returns that
 * container, and deleting or stopping what is gone succeeds.
 */
import type { Task } from '../tes/schemas.js';

/** The parts of a task that the runtime reads. */
export type RuntimeTask = Pick<
  Task,
  'id' | 'executors' | 'inputs' | 'outputs' | 'volumes' | 'resources'
>;

/** One executor of one task. */
export interface ExecutorRef {
  taskId: string;
  /** Position of the executor in `task.executors`, from 0. */
  executorIndex: number;
}

/**
 * Lifecycle state of a container: `created` before its process starts,
 * `running` while it runs, `exited` once its process has ended, and
 * `unknown` when the engine reports something else.
 */
export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

/** Status of one executor's container, as the runtime reports it. */
export interface ContainerStatus extends ExecutorRef {
  /** The engine's identifier of the container or pod. */
  containerId: string;
  /** Deterministic name derived from the task id and the executor index. */
  name: string;
  image: string;
  state: ContainerState;
  /** The command's exit code; set when `state` is `exited`. */
  exitCode?: number;
  /** RFC 3339 time the container's process started. */
  startTime?: string;
  /** RFC 3339 time the container's process ended; set when `state` is `exited`. */
  endTime?: string;
  /**
   * Why the container ended, in Kubernetes terms: `Completed` for exit
   * code 0, `OOMKilled` when the memory limit killed a process, `Error`
   * otherwise. Unset while it runs.
   */
  reason?: string;
  /** The engine's own explanation of a failure, when it gives one. */
  message?: string;
}

/** Bounded tails of an executor's standard output and standard error, kept apart. */
export interface ExecutorLogs {
  stdout: string;
  stderr: string;
}

/**
 * A change in the life of an executor's container:
 * - `started`: the container runs.
 * - `exited`: its process ended; `container.exitCode` is set.
 * - `deleted`: it disappeared without an exit being seen, for example
 *   because someone removed it from outside Poiesis.
 */
export interface ContainerEvent {
  type: 'started' | 'exited' | 'deleted';
  container: ContainerStatus;
}

/**
 * Receives container events. An event is delivered again later when the
 * listener throws or rejects, so the listener must be idempotent.
 */
export type ContainerEventListener = (event: ContainerEvent) => void | Promise<void>;

export interface WatchOptions {
  /** Called with every failure to observe the containers; the watch goes on regardless. */
  onError?: (error: unknown) => void;
}

/** A running watch; `close` stops it and resolves once no listener call is running. */
export interface ContainerWatch {
  close(): Promise<void>;
}

export interface Runtime {
  /**
   * Creates the task's volume and the directories its executors mount, so
   * the input filer can write into it. Calling it again changes nothing.
   */
  createVolume(task: RuntimeTask): Promise<void>;

  /** Deletes the task's volume and everything in it; a missing volume is fine. */
  deleteVolume(taskId: string): Promise<void>;

  volumeExists(taskId: string): Promise<boolean>;

  /**
   * Starts executor `executorIndex` of the task on the task's volume, pulling
   * its image when missing, and returns once the container runs or has
   * already ended. When the container exists already, returns its status
   * and starts nothing.
   *
   * @throws ImagePullError when the image is neither present nor pullable.
   * @throws ContainerStartError when the container cannot be started.
   * @throws MountPlanError when a path of the task cannot be mounted.
   */
  startExecutor(task: RuntimeTask, executorIndex: number): Promise<ContainerStatus>;

  /** Returns the executor's container, or undefined when there is none. */
  inspectExecutor(ref: ExecutorRef): Promise<ContainerStatus | undefined>;

  /**
   * Reads the tails of the executor's stdout and stderr. They stay readable
   * after the container is gone, until the task's volume is deleted; before
   * the executor ran, both are empty.
   */
  readExecutorLogs(ref: ExecutorRef): Promise<ExecutorLogs>;

  /** Stops the executor's container with a short grace period and removes it. */
  stopExecutor(ref: ExecutorRef): Promise<void>;

  /** Lists the containers of a task, in executor order. */
  listContainers(taskId: string): Promise<ContainerStatus[]>;

  /** Stops and removes every container of the task, then deletes its volume. */
  removeTask(taskId: string): Promise<void>;

  /**
   * Ids of the tasks that have a volume or a container in this runtime, so
   * that leftovers of finished tasks can be found and removed.
   */
  listTaskIds(): Promise<string[]>;

  /**
   * Reports container events of every task of this runtime as they happen.
   * The first report also covers containers that exited while no watcher
   * ran, such as during a restart of the process.
   */
  watch(listener: ContainerEventListener, options?: WatchOptions): ContainerWatch;
}
