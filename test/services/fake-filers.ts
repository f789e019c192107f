/**
 * A FilerLauncher that runs nothing: it records which filers the services
 * start and cancel, and a filer counts as running until the test finishes it.
 */
import type { FilerKind, FilerLauncher } from '../../functions/lib/filers/filer-jobs.js';
import type { Task } from '../../functions/lib/tes/schemas.js';

export class FakeFilers implements FilerLauncher {
  /** Every start, also of a filer that ran already. */
  readonly started: Array<{ kind: FilerKind; taskId: string }> = [];
  /** Task ids of every `cancel` call. */
  readonly canceled: string[] = [];

  private readonly running = new Set<string>();

  start(kind: FilerKind, task: Task): void {
    this.started.push({ kind, taskId: task.id });
    this.running.add(`${kind}:${task.id}`);
  }

  isRunning(kind: FilerKind, taskId: string): boolean {
    return this.running.has(`${kind}:${taskId}`);
  }

  cancel(taskId: string): Promise<void> {
    this.canceled.push(taskId);
    this.finish('inputs', taskId);
    this.finish('outputs', taskId);
    return Promise.resolve();
  }

  /** Ends a filer, as if its job had sent its event. */
  finish(kind: FilerKind, taskId: string): void {
    this.running.delete(`${kind}:${taskId}`);
  }
}
