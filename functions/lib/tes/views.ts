/**
 * The task views of TES: MINIMAL (`id` and `state`), BASIC (everything but
 * executor stdout and stderr, input `content` and `system_logs`) and FULL.
 */
import type { Task, TesTask, TesView } from './schemas.js';

/** A task as a response shows it; MINIMAL leaves out even the required `executors`. */
export type TaskView = Partial<TesTask>;

export function applyView(task: Task, view: TesView): TaskView {
  if (view === 'MINIMAL') return { id: task.id, state: task.state };
  if (view === 'FULL') return task;
  return basicView(task);
}

function basicView(task: Task): TesTask {
  const result: TesTask = { ...task };
  if (task.inputs) {
    result.inputs = task.inputs.map(({ content: _content, ...input }) => input);
  }
  if (task.logs) {
    result.logs = task.logs.map(({ system_logs: _systemLogs, ...log }) => ({
      ...log,
      logs: log.logs.map(({ stdout: _stdout, stderr: _stderr, ...executorLog }) => executorLog),
    }));
  }
  return result;
}
