/**
 * The mapping between a task and its rows in the SQLite task store.
 */
import type { Database } from 'better-sqlite3';
import type { Task, TesState, TesTaskLog } from '../tes/schemas.js';
import { applyLogPatch, emptyTaskLog, type TaskLogPatch } from './store.js';

/** A row of the `tasks` table. */
export interface TaskRow {
  id: string;
  state: TesState;
  name: string | null;
  creation_time: string;
  /** JSON of the task without `id`, `state`, `creation_time` and `logs`. */
  document: string;
  /** JSON of `logs`; null when the task was created without them. */
  logs: string | null;
}

/** The columns of a {@link TaskRow}, for SELECT lists. */
export const TASK_COLUMNS = 'id, state, name, creation_time, document, logs';

export function toTaskRow(task: Task): TaskRow {
  const { id, state, creation_time, logs, ...document } = task;
  return {
    id,
    state,
    name: task.name ?? null,
    creation_time,
    document: JSON.stringify(document),
    logs: logs === undefined ? null : JSON.stringify(logs),
  };
}

export function fromTaskRow(row: TaskRow): Task {
  const document = JSON.parse(row.document) as Omit<Task, 'id' | 'state' | 'creation_time'>;
  const task: Task = {
    id: row.id,
    state: row.state,
    ...document,
    creation_time: row.creation_time,
  };
  if (row.logs !== null) task.logs = JSON.parse(row.logs) as TesTaskLog[];
  return task;
}

/**
 * Applies `patch` to the last task log of the stored `logs` JSON and
 * returns the new JSON. A task without logs gets its first log here.
 */
export function patchLogs(logs: string | null, patch: TaskLogPatch): string {
  const taskLogs: TesTaskLog[] = logs === null ? [] : (JSON.parse(logs) as TesTaskLog[]);
  if (taskLogs.length === 0) taskLogs.push(emptyTaskLog());
  applyLogPatch(taskLogs[taskLogs.length - 1]!, patch);
  return JSON.stringify(taskLogs);
}

/**
 * Prepares the statements that insert a task and its tags, and returns a
 * function that runs them for one task. The caller wraps the calls in a
 * transaction; a duplicate id throws the `SQLITE_CONSTRAINT_PRIMARYKEY`
 * error of better-sqlite3.
 */
export function prepareTaskInsert(db: Database): (task: Task) => void {
  const insertTask = db.prepare<[TaskRow]>(
    `INSERT INTO tasks (${TASK_COLUMNS})
     VALUES (@id, @state, @name, @creation_time, @document, @logs)`,
  );
  const insertTag = db.prepare<[string, string, string]>(
    'INSERT INTO task_tags (task_id, key, value) VALUES (?, ?, ?)',
  );
  return (task) => {
    insertTask.run(toTaskRow(task));
    for (const [key, value] of Object.entries(task.tags ?? {})) insertTag.run(task.id, key, value);
  };
}
