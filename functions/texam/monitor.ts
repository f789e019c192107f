/**
 * TExAM, the task executor and monitor: it runs a task's executors one
 * after another and records each one's log.
 *
 * Steps:
 * 1. `inputs.staged`: INITIALIZING → RUNNING, then {@link ExecutorMonitor.advance}.
 * 2. advance: compare the executor logs with the containers and take the
 *    next step: start the first executor, handle an exit that was missed,
 *    restart a container that was never created, or go on from the last
 *    finished executor.
 * 3. `executor.exited`: record exit code, times and the stdout and stderr
 *    tails, then go on: a non-zero exit without `ignore_error` fails the
 *    task with EXECUTOR_ERROR, otherwise the next executor starts, or, after
 *    the last one, `executors.done` is sent.
 * The container start runs in the background because pulling an image can
 * take minutes; its failure is reported as `task.failed`.
 */
import { buildEvent } from '../lib/events/catalogue.js';
import { PoiesisError, StateConflictError } from '../lib/errors.js';
import { executorLogs, requireTask, timestamp, type FlowContext } from '../lib/flow/context.js';
import { TaskRemovedError } from '../lib/runtime/errors.js';
import type { ContainerStatus, Runtime } from '../lib/runtime/runtime.js';
import type { Task } from '../lib/tes/schemas.js';
import { fitTails, MAX_TASK_LOG_CHARACTERS } from './log-budget.js';

/**
 * The exit code an executor log shows until the executor exits, and keeps
 * when it never does (its start failed or its task was canceled): TES
 * requires an exit code, and 0 would read as success.
 */
export const NOT_EXITED = -1;

export interface ExecutorMonitorOptions extends FlowContext {
  runtime: Runtime;
}

/** The end of an executor, from `executor.exited` or from inspecting its container. */
export interface ExecutorExit {
  index: number;
  exitCode: number;
  startTime?: string;
  endTime?: string;
  reason?: string;
}

export class ExecutorMonitor {
  /** Container starts under way, by `<taskId>/<index>`. */
  private readonly starting = new Map<string, Promise<void>>();

  constructor(private readonly options: ExecutorMonitorOptions) {}

  /** Handles `inputs.staged`: moves the task to RUNNING and takes the next step. */
  async onInputsStaged(taskId: string): Promise<void> {
    let task = await requireTask(this.options.store, taskId);
    if (task.state === 'INITIALIZING') task = await this.markRunning(task);
    if (task.state === 'RUNNING') await this.advance(task);
  }

  /** Handles `executor.exited`; a duplicate or an exit of a finished task changes nothing. */
  async onExecutorExited(taskId: string, exit: ExecutorExit): Promise<void> {
    const task = await requireTask(this.options.store, taskId);
    if (task.state !== 'RUNNING') return;
    const logs = executorLogs(task);
    if (exit.index >= logs.length) {
      this.options.logger.warn({ taskId, index: exit.index }, 'exit of an executor never started');
      return;
    }
    if (logs[exit.index]?.end_time !== undefined) return;
    await this.recordExit(task, exit);
  }

  /** Waits for container starts under way; used at shutdown and by tests. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.starting.values()]);
  }

  /** Takes the next step of a RUNNING task, from its logs and its containers. */
  async advance(task: Task): Promise<void> {
    const logs = executorLogs(task);
    const current = logs.length - 1;
    if (current < 0) return this.startExecutor(task, 0);
    if (logs[current]?.end_time !== undefined) return this.next(task, current);
    if (this.starting.has(key(task.id, current))) return;

    const status = await this.options.runtime.inspectExecutor({
      taskId: task.id,
      executorIndex: current,
    });
    if (status === undefined) return this.startExecutor(task, current);
    if (status.state === 'exited') return this.recordExit(task, exitOf(status));
    if (status.state === 'created') return this.restartExecutor(task, current);
    if (status.state === 'unknown') {
      await this.publishFailure(task.id, {
        state: 'SYSTEM_ERROR',
        reason: 'ExecutorContainerUnknown',
        message: `the container of executor ${current} is in a state the engine does not explain: ${status.message ?? 'no message'}`,
      });
    }
  }

  /**
   * Replaces a container that was created but never started, which a crash
   * of the engine or of this process in the middle of a start leaves behind.
   */
  private async restartExecutor(task: Task, index: number): Promise<void> {
    this.options.logger.warn(
      { taskId: task.id, index },
      'executor container never started; starting it again',
    );
    await this.options.runtime.stopExecutor({ taskId: task.id, executorIndex: index });
    await this.startExecutor(task, index);
  }

  /** Goes on after executor `index` finished. */
  private async next(task: Task, index: number): Promise<void> {
    const log = executorLogs(task)[index]!;
    const executor = task.executors[index]!;
    if (log.exit_code !== 0 && executor.ignore_error !== true) {
      await this.publishFailure(task.id, {
        state: 'EXECUTOR_ERROR',
        reason: 'ExecutorFailed',
        message: `executor ${index} (${executor.image}) exited with code ${log.exit_code}`,
      });
      return;
    }
    if (index + 1 < task.executors.length) return this.startExecutor(task, index + 1);
    await this.options.publisher.publish(buildEvent('executors.done', task.id, {}));
  }

  private async recordExit(task: Task, exit: ExecutorExit): Promise<void> {
    const { runtime, store, logger } = this.options;
    const ref = { taskId: task.id, executorIndex: exit.index };
    const tails = fitTails(task, exit.index, await runtime.readExecutorLogs(ref));
    const systemLogs =
      exit.reason === 'OOMKilled'
        ? [
            `OOMKilled: a process of executor ${exit.index} was killed for exceeding the memory limit`,
          ]
        : [];
    if (tails.shortened) {
      systemLogs.push(
        `the stdout and stderr of executor ${exit.index} were shortened, because the executor ` +
          `logs of a task keep at most ${MAX_TASK_LOG_CHARACTERS} characters`,
      );
    }
    const updated = await store.updateLog(task.id, {
      executor: {
        index: exit.index,
        log: {
          exit_code: exit.exitCode,
          end_time: exit.endTime ?? timestamp(this.options),
          ...(exit.startTime ? { start_time: exit.startTime } : {}),
          stdout: tails.stdout,
          stderr: tails.stderr,
        },
      },
      systemLogs,
    });
    logger.info({ taskId: task.id, index: exit.index, exitCode: exit.exitCode }, 'executor exited');
    if (updated.state === 'RUNNING') await this.next(updated, exit.index);
  }

  /**
   * Records the start of executor `index` and starts its container in the
   * background. A start under way for the same executor is not repeated.
   */
  private async startExecutor(task: Task, index: number): Promise<void> {
    const id = key(task.id, index);
    if (this.starting.has(id)) return;
    const logs = executorLogs(task);
    if (index >= logs.length) {
      await this.options.store.updateLog(task.id, {
        executor: { index, log: { start_time: timestamp(this.options), exit_code: NOT_EXITED } },
      });
    }
    const start = this.runContainer(task, index).finally(() => this.starting.delete(id));
    this.starting.set(id, start);
  }

  private async runContainer(task: Task, index: number): Promise<void> {
    const { runtime, store, logger } = this.options;
    try {
      const status = await runtime.startExecutor(task, index);
      logger.info({ taskId: task.id, index, image: status.image }, 'executor started');
      if (status.startTime) {
        await store.updateLog(task.id, {
          executor: { index, log: { start_time: status.startTime } },
        });
      }
    } catch (error) {
      if (error instanceof TaskRemovedError) {
        logger.debug({ taskId: task.id, index }, 'late start of a removed task skipped');
        return;
      }
      const reason = error instanceof PoiesisError ? error.reason : 'ExecutorStartFailed';
      const message = `starting executor ${index} failed: ${error instanceof Error ? error.message : String(error)}`;
      logger.warn({ taskId: task.id, index, reason, err: error }, message);
      await this.publishFailure(task.id, { state: 'SYSTEM_ERROR', reason, message });
    } finally {
      await this.removeIfTaskEnded(task.id, index);
    }
  }

  /**
   * Removes the container of a task that was canceled or failed while the
   * container started: the teardown then found no container to remove.
   */
  private async removeIfTaskEnded(taskId: string, index: number): Promise<void> {
    const current = await this.options.store.get(taskId);
    if (current?.state === 'RUNNING') return;
    try {
      // Everything goes, as in TOrc's teardown, since the start may also have recreated mount directories.
      await this.options.runtime.removeTask(taskId);
    } catch (error) {
      this.options.logger.warn(
        { taskId, index, err: error },
        'removing the container of an ended task failed',
      );
    }
  }

  private async publishFailure(
    taskId: string,
    failure: { state: 'SYSTEM_ERROR' | 'EXECUTOR_ERROR'; reason: string; message: string },
  ): Promise<void> {
    try {
      await this.options.publisher.publish(
        buildEvent('task.failed', taskId, failure, { producer: 'texam' }),
      );
    } catch (error) {
      // The task stays RUNNING with the failure visible in its logs; reconcile repeats this step.
      this.options.logger.error({ taskId, err: error }, 'reporting the failure failed');
    }
  }

  private async markRunning(task: Task): Promise<Task> {
    try {
      return await this.options.store.transition(task.id, {
        from: ['INITIALIZING'],
        to: 'RUNNING',
      });
    } catch (error) {
      if (error instanceof StateConflictError) return requireTask(this.options.store, task.id);
      throw error;
    }
  }
}

function key(taskId: string, index: number): string {
  return `${taskId}/${index}`;
}

export function exitOf(status: ContainerStatus): ExecutorExit {
  return {
    index: status.executorIndex,
    exitCode: status.exitCode ?? -1,
    startTime: status.startTime,
    endTime: status.endTime,
    reason: status.reason,
  };
}
