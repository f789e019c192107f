/**
 * TOrc, the task orchestrator: it starts tasks, finalizes their state and
 * tears down what they leave behind.
 *
 * Steps of a task in TOrc:
 * 1. `task.created`: QUEUED → INITIALIZING, create the task volume, send
 *    `task.initialized` so that input filing starts.
 * 2. `outputs.filed`: RUNNING → COMPLETE with the output log, tear down.
 * 3. `task.failed`: any active state → SYSTEM_ERROR or EXECUTOR_ERROR with
 *    the reason in `system_logs`, tear down.
 * 4. `cancel.requested`: stop filers and containers, delete the volume,
 *    CANCELING → CANCELED.
 * Every step is compare-and-set in the Store, so a duplicate or late event
 * finds the task elsewhere and changes nothing.
 */
import { buildEvent } from '../lib/events/catalogue.js';
import { StateConflictError } from '../lib/errors.js';
import type { FilerLauncher } from '../lib/filers/filer-jobs.js';
import { executorLogs, requireTask, timestamp, type FlowContext } from '../lib/flow/context.js';
import type { Runtime } from '../lib/runtime/runtime.js';
import type { TaskLogPatch } from '../lib/store/store.js';
import type { Task, TesOutputFileLog, TesState } from '../lib/tes/schemas.js';
import { isTerminal } from '../lib/tes/states.js';

export interface OrchestratorOptions extends FlowContext {
  runtime: Runtime;
  filers: FilerLauncher;
  /** Tasks allowed in INITIALIZING, RUNNING or CANCELING at once; 0 sets no limit. @defaultValue 0 */
  maxActiveTasks?: number;
}

/** States in which a task has a volume or containers. */
const HOLDING_STATES: readonly TesState[] = ['INITIALIZING', 'RUNNING', 'CANCELING'];

/** A failure reported by any component. */
export interface TaskFailure {
  state: 'SYSTEM_ERROR' | 'EXECUTOR_ERROR';
  /** PascalCase reason, such as `ImagePullFailed`. */
  reason: string;
  message: string;
}

export class Orchestrator {
  /** Teardowns in progress, by task id, so that a duplicate event joins the running one. */
  private readonly teardowns = new Map<string, Promise<void>>();

  constructor(private readonly options: OrchestratorOptions) {}

  /**
   * Starts a QUEUED task when there is room under the limit of active
   * tasks, or resumes one that is INITIALIZING. A task left QUEUED starts
   * when another task ends.
   */
  async startTask(taskId: string): Promise<void> {
    let task = await requireTask(this.options.store, taskId);
    if (task.state === 'QUEUED') {
      if ((await this.freeSlots()) <= 0) {
        this.options.logger.debug(
          { taskId },
          'task stays QUEUED: the active task limit is reached',
        );
        return;
      }
      task = await this.markInitializing(task);
    }
    if (task.state !== 'INITIALIZING') return;
    try {
      await this.options.runtime.createVolume(task);
    } catch (error) {
      await this.fail(taskId, {
        state: 'SYSTEM_ERROR',
        reason: 'VolumeCreationFailed',
        message: `creating the task volume failed: ${errorText(error)}`,
      });
      return;
    }
    // A cancel while the volume was being created found nothing to remove.
    const current = await requireTask(this.options.store, taskId);
    if (current.state !== 'INITIALIZING') {
      await this.removeLeftovers(taskId);
      return;
    }
    await this.options.publisher.publish(buildEvent('task.initialized', taskId, {}));
  }

  /**
   * Moves a RUNNING task to COMPLETE with its output log. `omitted` counts
   * the filed files that the log leaves out, which a system log notes.
   */
  async completeTask(taskId: string, outputs: TesOutputFileLog[], omitted = 0): Promise<void> {
    const task = await requireTask(this.options.store, taskId);
    if (task.state !== 'RUNNING') {
      this.options.logger.debug(
        { taskId, state: task.state },
        'outputs filed for a task not running',
      );
      return;
    }
    const systemLogs =
      omitted > 0
        ? [
            `the output log lists ${outputs.length} of ${outputs.length + omitted} filed files; ` +
              `the other ${omitted} were filed too but do not fit in the log`,
          ]
        : [];
    const changed = await this.transition(task, 'COMPLETE', {
      outputs,
      end_time: timestamp(this.options),
      systemLogs,
    });
    if (changed) {
      this.options.logger.info({ taskId }, 'task complete');
      void this.startTeardown(taskId);
    }
  }

  /** Ends an active task in SYSTEM_ERROR or EXECUTOR_ERROR; a finished or canceling task stays as it is. */
  async fail(taskId: string, failure: TaskFailure): Promise<void> {
    const { store, logger } = this.options;
    for (;;) {
      const task = await requireTask(store, taskId);
      if (isTerminal(task.state) || task.state === 'CANCELING') return;
      const state: TesState =
        failure.state === 'EXECUTOR_ERROR' && task.state !== 'RUNNING'
          ? 'SYSTEM_ERROR'
          : failure.state;
      try {
        await store.transition(taskId, {
          from: [task.state],
          to: state,
          log: {
            systemLogs: [`${failure.reason}: ${failure.message}`],
            ...endOfUnfinishedExecutor(task, timestamp(this.options)),
            end_time: timestamp(this.options),
          },
        });
      } catch (error) {
        if (error instanceof StateConflictError) continue;
        throw error;
      }
      logger.info({ taskId, state, reason: failure.reason }, failure.message);
      void this.startTeardown(taskId);
      return;
    }
  }

  /** Finishes a cancel: everything of the task is stopped and removed, then it is CANCELED. */
  async cancelTask(taskId: string): Promise<void> {
    const task = await requireTask(this.options.store, taskId);
    if (task.state !== 'CANCELING') return;
    void this.startTeardown(taskId).then(
      async () => {
        await this.finishCancel(taskId);
        await this.startQueued();
      },
      (error: unknown) =>
        this.options.logger.warn(
          { taskId, err: error },
          'cancel teardown failed; reconcile retries',
        ),
    );
  }

  /**
   * Removes what a finished or unknown task left in the runtime, such as
   * after a crash during its teardown. An active task is left alone.
   */
  async removeLeftovers(taskId: string): Promise<boolean> {
    const task = await this.options.store.get(taskId);
    if (task && !isTerminal(task.state)) return false;
    this.options.logger.info({ taskId, state: task?.state }, 'removing leftovers of a task');
    await this.startTeardown(taskId);
    return true;
  }

  /** Starts the oldest QUEUED tasks that fit under the limit of active tasks. */
  async startQueued(): Promise<void> {
    const free = await this.freeSlots();
    if (free <= 0) return;
    const queued = await this.options.store.listInStates(['QUEUED']);
    for (const { id } of queued.slice(0, free)) {
      try {
        await this.startTask(id);
      } catch (error) {
        this.options.logger.warn({ taskId: id, err: error }, 'starting a queued task failed');
      }
    }
  }

  /** Room for more active tasks; Infinity without a limit. */
  private async freeSlots(): Promise<number> {
    const limit = this.options.maxActiveTasks ?? 0;
    if (limit <= 0) return Infinity;
    const active = await this.options.store.listInStates(HOLDING_STATES);
    return limit - active.length;
  }

  /** Waits for the teardowns under way; used at shutdown and by tests. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.teardowns.values()]);
  }

  private async finishCancel(taskId: string): Promise<void> {
    try {
      const task = await requireTask(this.options.store, taskId);
      const time = timestamp(this.options);
      await this.options.store.transition(taskId, {
        from: ['CANCELING'],
        to: 'CANCELED',
        log: { ...endOfUnfinishedExecutor(task, time), end_time: time },
      });
      this.options.logger.info({ taskId }, 'task canceled');
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
    }
  }

  private async markInitializing(task: Task): Promise<Task> {
    try {
      return await this.options.store.transition(task.id, {
        from: ['QUEUED'],
        to: 'INITIALIZING',
        log: { start_time: timestamp(this.options) },
      });
    } catch (error) {
      if (error instanceof StateConflictError) return requireTask(this.options.store, task.id);
      throw error;
    }
  }

  /** Compare-and-set from the task's current state; false when another change won. */
  private async transition(task: Task, to: TesState, log: TaskLogPatch): Promise<boolean> {
    try {
      await this.options.store.transition(task.id, { from: [task.state], to, log });
      return true;
    } catch (error) {
      if (error instanceof StateConflictError) return false;
      throw error;
    }
  }

  /**
   * Stops the task's filers and containers and deletes its volume, in the
   * background; a second call while one runs returns the running one.
   */
  private startTeardown(taskId: string): Promise<void> {
    const running = this.teardowns.get(taskId);
    if (running) return running;
    const teardown = (async () => {
      await this.options.filers.cancel(taskId);
      await this.options.runtime.removeTask(taskId);
      this.options.logger.debug({ taskId }, 'task resources removed');
      // The ended task freed a slot for a queued one.
      await this.startQueued();
    })();
    const tracked = teardown.finally(() => this.teardowns.delete(taskId));
    this.teardowns.set(taskId, tracked);
    tracked.catch((error: unknown) =>
      this.options.logger.warn({ taskId, err: error }, 'removing task resources failed'),
    );
    return tracked;
  }
}

/**
 * Returns the log change that gives the executor still running, if any, its
 * end time, because the task ends without its exit. Its exit code stays `NOT_EXITED`.
 */
function endOfUnfinishedExecutor(task: Task, time: string): TaskLogPatch {
  const logs = executorLogs(task);
  const index = logs.length - 1;
  if (index < 0 || logs[index]?.end_time !== undefined) return {};
  return { executor: { index, log: { end_time: time } } };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
