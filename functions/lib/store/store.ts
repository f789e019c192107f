/**
 * The Store adapter: where tasks, their states and their logs persist.
 *
 * Every implementation passes the contract suite in
 * `test/store/contract.ts` unchanged. Filters and pagination run inside the
 * store, so a list never loads more than one page of tasks.
 */
import type {
  Task,
  TesExecutorLog,
  TesOutputFileLog,
  TesState,
  TesTaskLog,
} from '../tes/schemas.js';

/** Filters and position of one ListTasks page. */
export interface ListQuery {
  /** Tasks whose name starts with this text. */
  namePrefix?: string;
  state?: TesState;
  /** Tag filters: an empty value matches any value of that key. */
  tags?: ReadonlyArray<{ key: string; value: string }>;
  /** Number of tasks on the page, from 1. */
  pageSize: number;
  /** The id of the last task of the previous page; the page starts after it. */
  after?: string;
  /**
   * Whether the page needs the whole task document. MINIMAL lists only need
   * `id` and `state`, which lets the store skip reading the documents.
   */
  withDocument: boolean;
  /**
   * With `withDocument`, the page ends early, with `lastId` set, before the
   * task whose stored document would take it past this many bytes. A page
   * has at least one task, however large.
   */
  maxBytes?: number;
}

export interface ListPage {
  /** Newest first. Without `withDocument`, only `id` and `state` are set. */
  tasks: Task[];
  /** The id to pass as `after` for the next page; absent on the last page. */
  lastId?: string;
}

/** A change to the task's log; the fields set here are merged into it. */
export interface TaskLogPatch {
  start_time?: string;
  end_time?: string;
  /** Replaces or creates the log of executor `index`; earlier slots must exist. */
  executor?: { index: number; log: Partial<TesExecutorLog> };
  /** Appended to `system_logs`. */
  systemLogs?: readonly string[];
  /** Replaces `outputs`. */
  outputs?: readonly TesOutputFileLog[];
  /** Merged into `metadata`. */
  metadata?: Readonly<Record<string, string>>;
}

export interface TransitionRequest {
  to: TesState;
  /**
   * The states the task must be in for the change to happen. When the task
   * is elsewhere the call throws `StateConflictError` and changes nothing.
   * Without it, any state from which the state machine allows `to` will do.
   */
  from?: readonly TesState[];
  /** Applied in the same atomic step as the state change. */
  log?: TaskLogPatch;
}

export interface TaskStore {
  /** A short name for diagnostics, such as `sqlite:/var/lib/poiesis/tasks.db`. */
  readonly description: string;

  /** Stores a new task. Throws if the id exists. */
  create(task: Task): Promise<void>;

  /** The task with all its fields, or undefined. */
  get(id: string): Promise<Task | undefined>;

  list(query: ListQuery): Promise<ListPage>;

  /**
   * Moves a task to another state, compare-and-set: two callers racing for
   * the same change cannot both win. Throws `TaskNotFoundError`,
   * `StateConflictError` when `from` is given and not met, and
   * `InvalidTransitionError` when the state machine forbids the move.
   */
  transition(id: string, request: TransitionRequest): Promise<Task>;

  /** Applies a log change without changing the state. Throws `TaskNotFoundError`. */
  updateLog(id: string, patch: TaskLogPatch): Promise<Task>;

  /** Ids and states of all tasks in the given states, oldest first. */
  listInStates(states: readonly TesState[]): Promise<Array<{ id: string; state: TesState }>>;

  close(): Promise<void>;
}

/** Applies a log patch to a task log in place. Shared by every store. */
export function applyLogPatch(log: TesTaskLog, patch: TaskLogPatch): void {
  if (patch.start_time !== undefined) log.start_time = patch.start_time;
  if (patch.end_time !== undefined) log.end_time = patch.end_time;
  if (patch.executor) {
    const { index, log: executorLog } = patch.executor;
    if (!Number.isInteger(index) || index < 0) {
      throw new RangeError(`executor log index ${index} is invalid; use an integer from 0`);
    }
    if (index > log.logs.length) {
      throw new RangeError(`executor log ${index} written before log ${log.logs.length}`);
    }
    // NOTE: exit_code is required by TES, so a running executor reports 0 until it ends.
    log.logs[index] = { exit_code: 0, ...log.logs[index], ...executorLog };
  }
  if (patch.systemLogs?.length) {
    log.system_logs = [...(log.system_logs ?? []), ...patch.systemLogs];
  }
  if (patch.outputs) log.outputs = [...patch.outputs];
  if (patch.metadata) log.metadata = { ...log.metadata, ...patch.metadata };
}

/** The log every new task starts with. */
export function emptyTaskLog(): TesTaskLog {
  return { logs: [], outputs: [], system_logs: [] };
}
