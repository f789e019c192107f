/**
 * Stops and removes the containers of tasks, in batches: removals that
 * arrive within {@link REMOVAL_BATCH_MS} of each other share one listing
 * and one `rm`, which matters when many tasks end at once.
 */
import type { Logger } from '../logging.js';
import { containerNamePrefix } from './container-status.js';
import type { ContainerEngine, ListedContainer } from './engine.js';

/** How long removals wait for others to join their batch, in milliseconds. */
const REMOVAL_BATCH_MS = 20;

/** How many removed container ids are remembered; the oldest are long gone from every listing. */
const REMEMBERED_IDS = 10_000;

export interface ContainerRemoverOptions {
  engine: ContainerEngine;
  /** Labels that every container of the runtime carries, to list them in one call. */
  labels: Readonly<Record<string, string>>;
  /** Time a stopped container gets to exit before it is killed, in seconds. */
  stopTimeoutSeconds: number;
  logger: Logger;
}

interface PendingRemoval {
  taskId: string;
  resolve: (containers: number) => void;
  reject: (error: unknown) => void;
}

/** Removes the containers of tasks and remembers which ones it removed. */
export class ContainerRemover {
  private readonly removedIds = new Set<string>();
  private pending: PendingRemoval[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ContainerRemoverOptions) {}

  /**
   * Stops and removes every container of the task, together with those of
   * the other tasks of the batch, and resolves with the number of the
   * task's containers.
   */
  removeTask(taskId: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ taskId, resolve, reject });
      this.timer ??= setTimeout(() => void this.flush(), REMOVAL_BATCH_MS);
    });
  }

  /** Returns whether this remover removed the container, so that watchers do not report it as deleted. */
  removed(containerId: string): boolean {
    return this.removedIds.has(containerId);
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.timer = undefined;
    try {
      const listed = await this.options.engine.listStates(this.options.labels);
      const ofTask = (taskId: string) =>
        listed.filter((container) => container.name.startsWith(containerNamePrefix(taskId)));
      const counts = batch.map(({ taskId }) => ofTask(taskId).length);
      await this.stopAndRemove(batch.flatMap(({ taskId }) => ofTask(taskId)));
      batch.forEach((removal, i) => removal.resolve(counts[i]!));
    } catch (error) {
      for (const removal of batch) removal.reject(error);
    }
  }

  /** Stops the containers that may still run, with a grace period, then removes them all. */
  async stopAndRemove(containers: readonly ListedContainer[]): Promise<void> {
    if (containers.length === 0) return;
    const { engine, stopTimeoutSeconds, logger } = this.options;
    const ids = containers.map((container) => container.id);
    for (const id of ids) this.remember(id);
    // An exited container needs no stop, which spares the teardown of a finished task a call.
    const live = containers.filter((container) => container.state !== 'exited');
    try {
      if (live.length > 0) {
        await engine.run(
          ['stop', '--time', String(stopTimeoutSeconds), ...live.map(({ id }) => id)],
          { timeoutMs: (stopTimeoutSeconds + 30) * 1000 },
        );
      }
    } catch (error) {
      // Usually a container that is gone already; `rm` below decides.
      logger.debug({ err: error, containers: ids }, 'stopping containers failed');
    }
    try {
      await engine.run(['rm', '--force', ...ids]);
    } catch (error) {
      const left = await engine.inspect(ids);
      if (left.length > 0) throw error;
    }
  }

  private remember(id: string): void {
    this.removedIds.add(id);
    if (this.removedIds.size > REMEMBERED_IDS) {
      const oldest = this.removedIds.values().next().value;
      if (oldest !== undefined) this.removedIds.delete(oldest);
    }
  }
}
