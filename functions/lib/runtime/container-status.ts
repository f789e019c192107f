/**
 * Names and labels of executor containers, and their status as the
 * Runtime interface reports it, built from podman or docker `inspect`.
 */
import type { InspectedContainer } from './engine.js';
import type { ContainerState, ContainerStatus, ExecutorRef } from './runtime.js';

/** Labels on every executor container, so all containers of a task can be found. */
export const LABELS = {
  /** `true` on every container Poiesis starts. */
  managed: 'org.poiesis.managed',
  /**
   * The absolute tasks directory of the runtime that started the container,
   * so two Poiesis instances on one machine never touch each other's containers.
   */
  tasksDir: 'org.poiesis.tasks-dir',
  taskId: 'org.poiesis.task-id',
  /** Position of the executor in the task, from 0, as decimal text. */
  executorIndex: 'org.poiesis.executor-index',
} as const;

/** Deterministic container name, so that a second start of the same executor is recognised. */
export function containerName(ref: ExecutorRef): string {
  return `${containerNamePrefix(ref.taskId)}${ref.executorIndex}`;
}

/** Returns the start of the names of every executor container of a task. */
export function containerNamePrefix(taskId: string): string {
  return `poiesis-${taskId}-exec-`;
}

/** Returns the task id in an executor container's name, or undefined for another name. */
export function taskIdOfContainerName(name: string): string | undefined {
  return /^poiesis-(.+)-exec-\d+$/.exec(name)?.[1];
}

/**
 * Engine states by the state the interface reports. podman's `stopped` is
 * a container whose process ended but whose cleanup has not run yet.
 */
const STATES: Readonly<Record<string, ContainerState>> = {
  configured: 'created',
  created: 'created',
  initialized: 'created',
  running: 'running',
  paused: 'running',
  restarting: 'running',
  stopping: 'running',
  stopped: 'exited',
  exited: 'exited',
  dead: 'exited',
};

/**
 * Converts `inspect` output to a status, or returns undefined for a
 * container without the executor labels.
 */
export function toContainerStatus(container: InspectedContainer): ContainerStatus | undefined {
  const labels = container.Config.Labels ?? {};
  const taskId = labels[LABELS.taskId];
  const executorIndex = Number(labels[LABELS.executorIndex]);
  if (taskId === undefined || !Number.isInteger(executorIndex) || executorIndex < 0) {
    return undefined;
  }

  const state = STATES[container.State.Status] ?? 'unknown';
  const status: ContainerStatus = {
    taskId,
    executorIndex,
    containerId: container.Id,
    // docker prefixes names with a slash.
    name: container.Name.replace(/^\//, ''),
    image: container.ImageName ?? container.Config.Image ?? '',
    state,
  };
  const startTime = toRfc3339(container.State.StartedAt);
  if (startTime !== undefined) status.startTime = startTime;
  if (state === 'exited') {
    status.exitCode = container.State.ExitCode;
    const endTime = toRfc3339(container.State.FinishedAt);
    if (endTime !== undefined) status.endTime = endTime;
    // Podman records StartedAt when `start` returns, which for a short command
    // can be after the exit it records as FinishedAt.
    if (endTime !== undefined && status.startTime !== undefined && status.startTime > endTime) {
      status.startTime = endTime;
    }
    status.reason = exitReason(container);
  }
  if (container.State.Error) status.message = container.State.Error;
  return status;
}

function exitReason(container: InspectedContainer): string {
  if (container.State.OOMKilled === true) return 'OOMKilled';
  return container.State.ExitCode === 0 ? 'Completed' : 'Error';
}

/**
 * Converts an engine timestamp, which has nanoseconds, to RFC 3339 with
 * milliseconds. Returns undefined for Go's zero time (year 1), which the
 * engines print for a time that has not happened.
 */
export function toRfc3339(timestamp: string | undefined): string | undefined {
  if (timestamp === undefined || timestamp === '' || timestamp.startsWith('0001-')) {
    return undefined;
  }
  const time = new Date(timestamp);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}
