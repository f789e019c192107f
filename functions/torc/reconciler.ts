/**
 * The reconcile loop of TOrc: no task stays unfinished because an event was
 * lost or the process restarted. Each pass looks at every active task and
 * repairs the ones that made no progress since the previous pass:
 * - QUEUED: start it as `task.created` would.
 * - INITIALIZING: start it again, which creates the volume if needed and
 *   sends `task.initialized`, unless its input filer runs.
 * - RUNNING: send `inputs.staged`, on which TExAM compares the executor
 *   logs with the containers and resumes: it handles a missed exit, starts
 *   a container that was never created, or sends `executors.done` again.
 * - CANCELING: finish the cancel.
 * A forced pass, run at start-up, repairs every active task at once. Each
 * pass also removes volumes and containers of finished tasks, which a
 * crash during their teardown can leave behind.
 */
import { buildEvent } from '../lib/events/catalogue.js';
import type { FilerLauncher } from '../lib/filers/filer-jobs.js';
import { executorLogs, type FlowContext } from '../lib/flow/context.js';
import type { Runtime } from '../lib/runtime/runtime.js';
import type { Task } from '../lib/tes/schemas.js';
import { ACTIVE_STATES } from '../lib/tes/states.js';
import type { Orchestrator } from './orchestrator.js';

export interface ReconcilerOptions extends FlowContext {
  orchestrator: Orchestrator;
  filers: FilerLauncher;
  runtime: Pick<Runtime, 'listTaskIds' | 'inspectExecutor'>;
}

/**
 * Returns a fingerprint of the task's progress. The same fingerprint in two
 * passes in a row means that the task stalled.
 */
function progressOf(task: Task): string {
  const log = task.logs?.[0];
  const executors = executorLogs(task);
  const last = executors.at(-1);
  return [task.state, executors.length, last?.end_time ?? '', log?.outputs.length ?? 0].join('|');
}

export class Reconciler {
  private lastSeen = new Map<string, string>();
  private running: Promise<number> | undefined;

  constructor(private readonly options: ReconcilerOptions) {}

  /**
   * Runs one pass and returns how many tasks it repaired. An unforced pass
   * started while another runs joins it; a forced one runs after it.
   */
  reconcile(force = false): Promise<number> {
    // A forced pass must look at every task, so it cannot join an unforced one.
    if (force && this.running) return this.running.then(() => this.reconcile(true));
    this.running ??= this.pass(force).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(force: boolean): Promise<number> {
    const { store, logger } = this.options;
    const seen = new Map<string, string>();
    let repaired = 0;
    for (const { id } of await store.listInStates(ACTIVE_STATES)) {
      const task = await store.get(id);
      if (!task) continue;
      const progress = progressOf(task);
      seen.set(id, progress);
      if (!force && this.lastSeen.get(id) !== progress) continue;
      try {
        if (await this.repair(task)) repaired++;
      } catch (error) {
        logger.warn(
          { taskId: id, err: error },
          'reconciling the task failed; the next pass retries',
        );
      }
    }
    this.lastSeen = seen;
    repaired += await this.removeLeftovers(seen);
    if (repaired > 0) logger.info({ repaired, forced: force }, 'reconcile repaired tasks');
    return repaired;
  }

  /** Removes the resources of tasks that are not active; `active` contains the active ids. */
  private async removeLeftovers(active: ReadonlyMap<string, string>): Promise<number> {
    const { runtime, orchestrator, logger } = this.options;
    let removed = 0;
    try {
      for (const taskId of await runtime.listTaskIds()) {
        if (active.has(taskId)) continue;
        if (await orchestrator.removeLeftovers(taskId)) removed++;
      }
    } catch (error) {
      logger.warn({ err: error }, 'looking for leftovers of finished tasks failed');
    }
    return removed;
  }

  /** Checks whether the task's current executor runs, because a long executor is no stall. */
  private async executorRuns(task: Task): Promise<boolean> {
    const logs = executorLogs(task);
    const current = logs.length - 1;
    if (current < 0 || logs[current]?.end_time !== undefined) return false;
    const status = await this.options.runtime.inspectExecutor({
      taskId: task.id,
      executorIndex: current,
    });
    return status?.state === 'running';
  }

  private async repair(task: Task): Promise<boolean> {
    const { orchestrator, filers, publisher, logger } = this.options;
    switch (task.state) {
      case 'QUEUED':
        await orchestrator.startTask(task.id);
        break;
      case 'INITIALIZING':
        if (filers.isRunning('inputs', task.id)) return false;
        await orchestrator.startTask(task.id);
        break;
      case 'RUNNING':
        if (filers.isRunning('outputs', task.id)) return false;
        if (await this.executorRuns(task)) return false;
        await publisher.publish(buildEvent('inputs.staged', task.id, {}, { producer: 'torc' }));
        break;
      case 'CANCELING':
        await orchestrator.cancelTask(task.id);
        break;
      default:
        return false;
    }
    logger.debug({ taskId: task.id, state: task.state }, 'reconcile resumed the task');
    return true;
  }
}
