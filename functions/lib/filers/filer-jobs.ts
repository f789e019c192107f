/**
 * Input and output filing as background jobs. A job stages the inputs into
 * the task volume, or files the outputs from it, and reports the outcome as
 * an event, exactly as a filer pod does in Kubernetes: `inputs.staged` or
 * `outputs.filed` on success, `task.failed` with SYSTEM_ERROR otherwise.
 *
 * The embedded home runs the jobs inside the Poiesis process, so a job
 * dies with it; the reconcile loop starts it again after a restart.
 */
import { buildEvent } from '../events/catalogue.js';
import { DEFAULT_MAX_EVENT_BYTES } from '../events/http-binding.js';
import type { EventPublisher } from '../events/publisher.js';
import { PoiesisError } from '../errors.js';
import { componentLogger, type Logger } from '../logging.js';
import type { HostPathOf } from '../storage/backend.js';
import { stageInputs } from '../storage/input-filer.js';
import { fileOutputs } from '../storage/output-filer.js';
import type { StorageRegistry } from '../storage/registry.js';
import type { Task, TesOutputFileLog } from '../tes/schemas.js';

export type FilerKind = 'inputs' | 'outputs';

/** Starts filing for a task; what the TIF and TOF handlers need. */
export interface FilerLauncher {
  /**
   * Starts the job in the background and returns at once. Starting a job
   * that runs already for the same task and kind does nothing.
   */
  start(kind: FilerKind, task: Task): void;
  isRunning(kind: FilerKind, taskId: string): boolean;
  /** Aborts the task's jobs and resolves once they have ended. */
  cancel(taskId: string): Promise<void>;
}

export interface InProcessFilersOptions {
  registry: StorageRegistry;
  /** Host path of a container path of a task's volume. */
  hostPathOf: (taskId: string) => HostPathOf;
  publisher: EventPublisher;
  logger?: Logger;
}

interface Job {
  controller: AbortController;
  done: Promise<void>;
}

export class InProcessFilers implements FilerLauncher {
  private readonly jobs = new Map<string, Job>();
  private readonly logger: Logger;

  constructor(private readonly options: InProcessFilersOptions) {
    this.logger = options.logger ?? componentLogger('filer');
  }

  start(kind: FilerKind, task: Task): void {
    const key = `${kind}:${task.id}`;
    if (this.jobs.has(key)) return;
    const controller = new AbortController();
    const done = this.run(kind, task, controller.signal).finally(() => this.jobs.delete(key));
    this.jobs.set(key, { controller, done });
  }

  isRunning(kind: FilerKind, taskId: string): boolean {
    return this.jobs.has(`${kind}:${taskId}`);
  }

  async cancel(taskId: string): Promise<void> {
    const running = (['inputs', 'outputs'] as const)
      .map((kind) => this.jobs.get(`${kind}:${taskId}`))
      .filter((job) => job !== undefined);
    for (const job of running) job.controller.abort();
    await Promise.all(running.map((job) => job.done));
  }

  /** Waits for every running job; used when the process shuts down. */
  async drain(): Promise<void> {
    for (const job of this.jobs.values()) job.controller.abort();
    await Promise.all([...this.jobs.values()].map((job) => job.done));
  }

  private async run(kind: FilerKind, task: Task, signal: AbortSignal): Promise<void> {
    const logger = this.logger.child({ taskId: task.id, filer: kind });
    const { registry, publisher } = this.options;
    const hostPathOf = this.options.hostPathOf(task.id);
    try {
      if (kind === 'inputs') {
        await stageInputs(task.inputs ?? [], hostPathOf, { registry, signal, taskId: task.id });
        await publisher.publish(buildEvent('inputs.staged', task.id, {}, { producer: 'tif' }));
      } else {
        const outputs = await fileOutputs(task.outputs ?? [], hostPathOf, {
          registry,
          signal,
          taskId: task.id,
        });
        const listed = fitOutputLog(outputs);
        if (listed.omitted !== undefined) {
          logger.warn(
            { files: outputs.length, omitted: listed.omitted },
            'output log shortened to fit in one event',
          );
        }
        await publisher.publish(buildEvent('outputs.filed', task.id, listed));
      }
      logger.info('filing done');
    } catch (error) {
      if (signal.aborted) {
        logger.info('filing aborted');
        return;
      }
      await this.reportFailure(kind, task.id, error, logger);
    }
  }

  private async reportFailure(kind: FilerKind, taskId: string, error: unknown, logger: Logger) {
    const reason =
      error instanceof PoiesisError
        ? error.reason
        : kind === 'inputs'
          ? 'InputStagingFailed'
          : 'OutputFilingFailed';
    const action = kind === 'inputs' ? 'staging inputs' : 'filing outputs';
    const message = `${action} failed: ${error instanceof Error ? error.message : String(error)}`;
    logger.warn({ err: error, reason }, message);
    try {
      const producer = kind === 'inputs' ? 'tif' : 'tof';
      await this.options.publisher.publish(
        buildEvent('task.failed', taskId, { state: 'SYSTEM_ERROR', reason, message }, { producer }),
      );
    } catch (publishError) {
      // The reconcile loop finds the task stuck and starts the job again.
      logger.error({ err: publishError }, 'reporting the filer failure failed');
    }
  }
}

/**
 * Bytes of output log entries that one `outputs.filed` event carries at
 * most: three quarters of the event size limit, which leaves room for the
 * rest of the event.
 */
export const MAX_OUTPUT_LOG_BYTES = (DEFAULT_MAX_EVENT_BYTES * 3) / 4;

/**
 * Returns the output log entries that fit in {@link MAX_OUTPUT_LOG_BYTES}
 * of JSON, in order, with the number of entries left out when some are.
 */
export function fitOutputLog(outputs: readonly TesOutputFileLog[]): {
  outputs: TesOutputFileLog[];
  omitted?: number;
} {
  let bytes = 0;
  const fitting = outputs.findIndex((entry) => {
    bytes += Buffer.byteLength(JSON.stringify(entry)) + 1;
    return bytes > MAX_OUTPUT_LOG_BYTES;
  });
  if (fitting === -1) return { outputs: [...outputs] };
  return { outputs: outputs.slice(0, fitting), omitted: outputs.length - fitting };
}
