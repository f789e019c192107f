/**
 * Shared parts of the core services: the adapters they are built from and the
 * small steps every handler takes, such as loading the task an event is about.
 */
import { PermanentEventError } from '../events/errors.js';
import type { EventPublisher } from '../events/publisher.js';
import type { Logger } from '../logging.js';
import type { TaskStore } from '../store/store.js';
import type { Task } from '../tes/schemas.js';

/** The adapters and helpers every core service is constructed with. */
export interface FlowContext {
  store: TaskStore;
  publisher: EventPublisher;
  logger: Logger;
  /** The clock; tests replace it. @defaultValue `() => new Date()` */
  now?: () => Date;
}

/** RFC 3339 time of now. */
export function timestamp(context: FlowContext): string {
  return (context.now?.() ?? new Date()).toISOString();
}

/**
 * Loads the task an event is about. An event about a task that does not
 * exist can never succeed, so it is a {@link PermanentEventError}.
 */
export async function requireTask(store: TaskStore, taskId: string): Promise<Task> {
  const task = await store.get(taskId);
  if (!task) {
    throw new PermanentEventError(`task ${taskId} not found`, { reason: 'TaskNotFound' });
  }
  return task;
}

/** Returns the executor logs of the task's current run. */
export function executorLogs(task: Task) {
  return task.logs?.[0]?.logs ?? [];
}
