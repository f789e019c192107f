/**
 * The TES operations on tasks, free of HTTP: create, get, list and cancel.
 * The Koa routes call these; they validate, talk to the Store and announce
 * new tasks and cancel requests as events.
 */
import { StateConflictError, TaskFinishedError, TaskNotFoundError } from '../lib/errors.js';
import type { Logger } from '../lib/logging.js';
import { emptyTaskLog, type TaskStore } from '../lib/store/store.js';
import { newTaskId, isTaskId } from '../lib/tes/ids.js';
import type { Task, TesView } from '../lib/tes/schemas.js';
import { CANCELABLE, isTerminal } from '../lib/tes/states.js';
import { prepareTask, type TaskValidationOptions } from '../lib/tes/validation.js';
import { applyView, type TaskView } from '../lib/tes/views.js';
import type { ListRequest } from './list-query.js';
import type { PageTokens } from './page-token.js';

/**
 * Stored bytes of task documents that one BASIC or FULL list page reads at
 * most. A page of large tasks ends early with a next_page_token, so listing
 * them cannot exhaust the server's memory.
 */
export const MAX_PAGE_DOCUMENT_BYTES = 32 * 1024 * 1024;

/** Events the API sends to the rest of Poiesis, in practice CloudEvents posted to the broker. */
export interface TaskEventSink {
  taskCreated(taskId: string): Promise<void>;
  cancelRequested(taskId: string): Promise<void>;
}

export interface TaskServiceOptions {
  store: TaskStore;
  events: TaskEventSink;
  pageTokens: PageTokens;
  validation: TaskValidationOptions;
  logger: Logger;
  now?: () => Date;
}

export class TaskService {
  private readonly now: () => Date;

  constructor(private readonly options: TaskServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Validates and stores a task as QUEUED, then announces it. Returns the new id. */
  async create(body: unknown): Promise<string> {
    const { task: submitted, warnings } = prepareTask(body, this.options.validation);
    const now = this.now();
    const log = emptyTaskLog();
    log.system_logs = warnings;
    const task: Task = {
      ...submitted,
      id: newTaskId(now.getTime()),
      state: 'QUEUED',
      creation_time: now.toISOString(),
      logs: [log],
    };
    await this.options.store.create(task);
    this.options.logger.info({ taskId: task.id, name: task.name }, 'task created');
    for (const warning of warnings) this.options.logger.warn({ taskId: task.id }, warning);
    await this.announce(task.id, 'taskCreated');
    return task.id;
  }

  async get(id: string, view: TesView): Promise<TaskView> {
    return applyView(await this.require(id), view);
  }

  async list(request: ListRequest): Promise<{ tasks: TaskView[]; next_page_token?: string }> {
    const { filters, pageSize, pageToken, view } = request;
    const after = pageToken ? this.options.pageTokens.open(pageToken, filters) : undefined;
    const page = await this.options.store.list({
      ...filters,
      pageSize,
      after,
      withDocument: view !== 'MINIMAL',
      maxBytes: MAX_PAGE_DOCUMENT_BYTES,
    });
    const tasks = page.tasks.map((task) => applyView(task, view));
    if (page.lastId === undefined) return { tasks };
    return { tasks, next_page_token: this.options.pageTokens.issue(page.lastId, filters) };
  }

  /**
   * Cancels a task. A task that nothing runs for yet (QUEUED) ends as
   * CANCELED at once; INITIALIZING and RUNNING tasks go to CANCELING and
   * TOrc finishes the job. Cancelling a CANCELING or CANCELED task changes
   * nothing; cancelling any other finished task throws {@link TaskFinishedError}.
   */
  async cancel(id: string): Promise<void> {
    for (;;) {
      const task = await this.require(id);
      if (task.state === 'CANCELING' || task.state === 'CANCELED') return;
      if (isTerminal(task.state) || !CANCELABLE.has(task.state)) {
        throw new TaskFinishedError(id, task.state);
      }
      try {
        await this.moveToCancel(task);
        return;
      } catch (error) {
        // Another component changed the state meanwhile: decide again from the new state.
        if (!(error instanceof StateConflictError)) throw error;
      }
    }
  }

  private async moveToCancel(task: Task): Promise<void> {
    const { store, logger } = this.options;
    const time = this.now().toISOString();
    if (task.state === 'QUEUED') {
      await store.transition(task.id, {
        from: ['QUEUED'],
        to: 'CANCELED',
        log: { end_time: time, systemLogs: [`canceled by request at ${time}`] },
      });
      logger.info({ taskId: task.id }, 'queued task canceled');
      return;
    }
    await store.transition(task.id, {
      from: [task.state],
      to: 'CANCELING',
      log: { systemLogs: [`cancel requested at ${time}`] },
    });
    logger.info({ taskId: task.id, from: task.state }, 'task canceling');
    await this.announce(task.id, 'cancelRequested');
  }

  private async require(id: string): Promise<Task> {
    const task = isTaskId(id) ? await this.options.store.get(id) : undefined;
    if (!task) throw new TaskNotFoundError(id);
    return task;
  }

  /**
   * Sends an event about a stored task. A failure does not fail the request:
   * the task is safely stored, and the reconcile loop sends it again.
   */
  private async announce(taskId: string, kind: keyof TaskEventSink): Promise<void> {
    try {
      await this.options.events[kind](taskId);
    } catch (error) {
      this.options.logger.warn(
        { taskId, err: error },
        `sending ${kind} failed; reconcile will retry`,
      );
    }
  }
}
