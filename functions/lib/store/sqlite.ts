/**
 * The task store of the embedded home: one SQLite file in WAL mode, through
 * better-sqlite3.
 *
 * better-sqlite3 is synchronous, so each call does its work before it
 * returns; the promises only fit the {@link TaskStore} interface. Every
 * read-modify-write runs in an IMMEDIATE transaction, which takes the write
 * lock before reading. Two connections to the same file, in one process or
 * in two, therefore change a task one after the other, and the second reads
 * what the first one wrote.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { StateConflictError, TaskNotFoundError } from '../errors.js';
import { componentLogger, type Logger } from '../logging.js';
import type { Task, TesState } from '../tes/schemas.js';
import { assertTransition } from '../tes/states.js';
import { TaskExistsError } from './errors.js';
import { buildListQuery } from './sqlite-list.js';
import { migrate } from './sqlite-migrations.js';
import { refreshStatistics } from './sqlite-statistics.js';
import {
  fromTaskRow,
  patchLogs,
  prepareTaskInsert,
  TASK_COLUMNS,
  type TaskRow,
} from './sqlite-rows.js';
import type { ListPage, ListQuery, TaskLogPatch, TaskStore, TransitionRequest } from './store.js';

export interface SqliteTaskStoreOptions {
  /** Directory of the database file; created when missing. */
  directory: string;
  /** @defaultValue `'poiesis.db'` */
  fileName?: string;
  /**
   * How long a write waits for another connection to release the write
   * lock, in milliseconds, before it fails with `SQLITE_BUSY`.
   * @defaultValue 5000
   */
  busyTimeoutMs?: number;
  /**
   * Number of created tasks between two checks of the query planner's
   * statistics; see `sqlite-statistics.ts`. The store also checks at open.
   * @defaultValue 1000
   */
  statisticsInterval?: number;
  /** @defaultValue `componentLogger('store')` */
  logger?: Logger;
}

/**
 * Upper bound of cached list statements. The SQL text varies with the
 * filters and the number of tags; when full, the oldest statement goes.
 */
const MAX_CACHED_STATEMENTS = 100;

/** A create waiting for the group commit, with the callbacks of its promise. */
interface PendingCreate {
  task: Task;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A {@link TaskStore} in one SQLite file. */
export class SqliteTaskStore implements TaskStore {
  readonly description: string;
  /** The database file. */
  readonly file: string;

  private readonly db: Database.Database;
  private readonly logger: Logger;
  private readonly statisticsInterval: number;
  private readonly statements = new Map<string, Database.Statement>();
  private createsSinceStatistics = 0;
  /** Creates waiting for the next group commit. */
  private pendingCreates: PendingCreate[] = [];
  private flushScheduled = false;

  private readonly createTransaction: Database.Transaction<(task: Task) => void>;
  private readonly createBatchTransaction: Database.Transaction<
    (tasks: readonly Task[]) => unknown[]
  >;
  private readonly transitionTransaction: Database.Transaction<
    (id: string, request: TransitionRequest) => Task
  >;
  private readonly updateLogTransaction: Database.Transaction<
    (id: string, patch: TaskLogPatch) => Task
  >;
  private readonly selectTask: Database.Statement<[string], TaskRow>;
  private readonly updateState: Database.Statement<
    { id: string; from: TesState; to: TesState; logs: string | null },
    void
  >;
  private readonly updateLogs: Database.Statement<{ id: string; logs: string }, void>;

  /**
   * Opens the database file, creating it and its directory when missing,
   * and migrates its schema. Throws `UnsupportedSchemaError` when the file
   * was written by a newer Poiesis.
   */
  constructor(options: SqliteTaskStoreOptions) {
    fs.mkdirSync(options.directory, { recursive: true });
    this.file = path.resolve(options.directory, options.fileName ?? 'poiesis.db');
    this.description = `sqlite:${this.file}`;
    this.logger = options.logger ?? componentLogger('store');
    this.statisticsInterval = options.statisticsInterval ?? 1000;

    this.db = new Database(this.file, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      this.configure();
      const schema = migrate(this.db, this.file);
      if (schema.from !== schema.to) {
        this.logger.info({ file: this.file, ...schema }, 'migrated the task database schema');
      }
      this.refreshStatistics();
    } catch (error) {
      this.db.close();
      throw error;
    }

    this.createTransaction = this.db.transaction(prepareTaskInsert(this.db));
    this.createBatchTransaction = this.db.transaction(this.createBatchNow);
    this.transitionTransaction = this.db.transaction(this.transitionNow);
    this.updateLogTransaction = this.db.transaction(this.updateLogNow);
    this.selectTask = this.db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`);
    this.updateState = this.db.prepare(
      'UPDATE tasks SET state = @to, logs = @logs WHERE id = @id AND state = @from',
    );
    this.updateLogs = this.db.prepare('UPDATE tasks SET logs = @logs WHERE id = @id');
    this.logger.info({ file: this.file }, 'opened the task store');
  }

  /**
   * Stores a new task. Creates that arrive in the same turn of the event
   * loop are committed together in one transaction, so one commit and one
   * WAL sync serve many creates. Each runs in a savepoint of its own, so a
   * duplicate id fails only its own create. The promise settles after the commit.
   */
  create(task: Task): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pendingCreates.push({ task, resolve, reject });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setImmediate(() => this.flushCreates());
    });
  }

  private flushCreates(): void {
    this.flushScheduled = false;
    const batch = this.pendingCreates;
    this.pendingCreates = [];
    if (batch.length === 0) return;
    let failures: Array<unknown>;
    try {
      failures = this.createBatchTransaction.immediate(batch.map((pending) => pending.task));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => {
      const failure = failures[i];
      if (failure === undefined) pending.resolve();
      else pending.reject(failure);
    });
    this.countCreates(failures.filter((failure) => failure === undefined).length);
  }

  /** Inserts each task in a savepoint; returns each one's error, or undefined. */
  private readonly createBatchNow = (tasks: readonly Task[]): unknown[] =>
    tasks.map((task) => {
      try {
        // A transaction function called inside a transaction runs as a savepoint.
        this.createTransaction(task);
        return undefined;
      } catch (error) {
        if (isSqliteError(error, 'SQLITE_CONSTRAINT_PRIMARYKEY')) {
          return new TaskExistsError(task.id, { cause: error });
        }
        return error;
      }
    });

  get(id: string): Promise<Task | undefined> {
    return settle(() => {
      const row = this.selectTask.get(id);
      return row && fromTaskRow(row);
    });
  }

  list(query: ListQuery): Promise<ListPage> {
    return settle(() => {
      if (!Number.isInteger(query.pageSize) || query.pageSize < 1) {
        throw new RangeError(`page size ${query.pageSize} is invalid; use an integer from 1`);
      }
      const { sql, params } = buildListQuery(query);
      const { rows: pageRows, more } = this.pageRows(sql, params, query);
      // MINIMAL rows have only id and state, which is what ListPage promises.
      const tasks = query.withDocument
        ? pageRows.map(fromTaskRow)
        : pageRows.map(({ id, state }) => ({ id, state }) as Task);
      return more ? { tasks, lastId: pageRows[pageRows.length - 1]!.id } : { tasks };
    });
  }

  /**
   * Reads the rows of a page, one more than its size to see whether another
   * page follows, and stops early once the documents exceed `maxBytes`.
   */
  private pageRows(
    sql: string,
    params: Array<string | number>,
    query: ListQuery,
  ): { rows: TaskRow[]; more: boolean } {
    const rows: TaskRow[] = [];
    let bytes = 0;
    for (const row of this.statement(sql).iterate(...params) as Iterable<TaskRow>) {
      if (rows.length === query.pageSize) return { rows, more: true };
      if (query.withDocument && query.maxBytes !== undefined) {
        bytes += row.document.length + (row.logs?.length ?? 0);
        if (bytes > query.maxBytes && rows.length > 0) return { rows, more: true };
      }
      rows.push(row);
    }
    return { rows, more: false };
  }

  transition(id: string, request: TransitionRequest): Promise<Task> {
    return settle(() => this.transitionTransaction.immediate(id, request));
  }

  updateLog(id: string, patch: TaskLogPatch): Promise<Task> {
    return settle(() => this.updateLogTransaction.immediate(id, patch));
  }

  listInStates(states: readonly TesState[]): Promise<Array<{ id: string; state: TesState }>> {
    return settle(() => {
      if (states.length === 0) return [];
      const placeholders = states.map(() => '?').join(', ');
      const sql = `SELECT id, state FROM tasks WHERE state IN (${placeholders}) ORDER BY id`;
      return this.statement(sql).all(...states) as Array<{ id: string; state: TesState }>;
    });
  }

  /** Closes the database file. Calling it again does nothing. */
  close(): Promise<void> {
    return settle(() => {
      if (!this.db.open) return;
      this.flushCreates();
      this.statements.clear();
      this.db.close();
      this.logger.info({ file: this.file }, 'closed the task store');
    });
  }

  private configure(): void {
    const mode = this.db.pragma('journal_mode = WAL', { simple: true }) as string;
    if (mode !== 'wal') {
      throw new Error(
        `task database ${this.file} cannot use WAL mode (journal mode is ${mode}); ` +
          'put the data directory on a local file system',
      );
    }
    // In WAL mode, NORMAL keeps the database consistent on a crash; a power
    // loss can undo the last commits, but never corrupt the file.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
  }

  /** Runs inside an IMMEDIATE transaction, so the state read is still current at the update. */
  private readonly transitionNow = (id: string, request: TransitionRequest): Task => {
    const row = this.selectTask.get(id);
    if (!row) throw new TaskNotFoundError(id);
    if (request.from && !request.from.includes(row.state)) {
      throw new StateConflictError(id, row.state, request.from);
    }
    assertTransition(id, row.state, request.to);

    const logs = request.log ? patchLogs(row.logs, request.log) : row.logs;
    // The lock already keeps the state from changing; the `state = @from`
    // guard keeps the update a compare-and-set even without it.
    const result = this.updateState.run({ id, from: row.state, to: request.to, logs });
    if (result.changes !== 1) {
      throw new StateConflictError(id, row.state, request.from ?? [row.state]);
    }
    return fromTaskRow({ ...row, state: request.to, logs });
  };

  private readonly updateLogNow = (id: string, patch: TaskLogPatch): Task => {
    const row = this.selectTask.get(id);
    if (!row) throw new TaskNotFoundError(id);
    const logs = patchLogs(row.logs, patch);
    this.updateLogs.run({ id, logs });
    return fromTaskRow({ ...row, logs });
  };

  private countCreates(count: number): void {
    this.createsSinceStatistics += count;
    if (this.createsSinceStatistics < this.statisticsInterval) return;
    this.createsSinceStatistics = 0;
    try {
      this.refreshStatistics();
    } catch (error) {
      // The task is stored; stale statistics only make some lists slower.
      this.logger.warn({ err: error, file: this.file }, 'failed to refresh the query statistics');
    }
  }

  private refreshStatistics(): void {
    const start = performance.now();
    const { analyzed, tasks } = refreshStatistics(this.db);
    if (analyzed) {
      const durationMs = Math.round(performance.now() - start);
      this.logger.debug({ file: this.file, tasks, durationMs }, 'refreshed the query statistics');
    }
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= MAX_CACHED_STATEMENTS) {
        this.statements.delete(this.statements.keys().next().value!);
      }
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/**
 * Opens the task store in `file`, for callers that know the file rather than
 * its directory. Throws as the {@link SqliteTaskStore} constructor does.
 */
export function openSqliteTaskStore(
  file: string,
  options: Omit<SqliteTaskStoreOptions, 'directory' | 'fileName'> = {},
): Promise<SqliteTaskStore> {
  return settle(
    () =>
      new SqliteTaskStore({
        ...options,
        directory: path.dirname(file),
        fileName: path.basename(file),
      }),
  );
}

/** Runs synchronous work and returns its result or its error as a promise. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

function isSqliteError(error: unknown, code: string): boolean {
  return error instanceof Database.SqliteError && error.code === code;
}
