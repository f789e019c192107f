/**
 * The input filer: stages a task's inputs into its volume before the
 * executors run.
 */
import { writeFile } from 'node:fs/promises';
import { componentLogger, type Logger } from '../logging.js';
import type { TesInput } from '../tes/schemas.js';
import { writeAtomically } from './atomic-file.js';
import type { HostPathOf } from './backend.js';
import { InputFetchFailedError, InvalidTaskFileError, StorageError } from './errors.js';
import { messageOf } from './fs-errors.js';
import type { StorageRegistry } from './registry.js';
import { redactUrl } from './url.js';

export interface StageInputsOptions {
  registry: StorageRegistry;
  /** Aborts staging, for example when the task is canceled. */
  signal?: AbortSignal;
  /** Added to every log line. */
  taskId?: string;
  logger?: Logger;
}

/**
 * Stages every input at its container path: inline `content` is written as
 * the file, anything else is downloaded from its `url`. Parent directories
 * are created, and each file is written under a temporary name and renamed,
 * so running again after a partial run gives the same result.
 *
 * Inputs are staged one at a time, in order, so where two inputs overlap
 * (a DIRECTORY and a FILE inside it) the later one wins, as it would if
 * they were copied by hand.
 *
 * Throws a `StorageError` for the first input that fails. Its `reason` is
 * meant for the task's `system_logs`.
 */
export async function stageInputs(
  inputs: readonly TesInput[],
  hostPathOf: HostPathOf,
  options: StageInputsOptions,
): Promise<void> {
  const base = options.logger ?? componentLogger('input-filer');
  const logger = options.taskId === undefined ? base : base.child({ taskId: options.taskId });

  for (const [index, input] of inputs.entries()) {
    const source = input.content ? 'content' : redactUrl(input.url ?? '');
    logger.info({ path: input.path, source }, 'staging input');
    try {
      options.signal?.throwIfAborted();
      await stageInput(input, index, hostPathOf(input.path), options);
    } catch (error) {
      logger.warn({ path: input.path, source, err: error }, 'input staging failed');
      if (error instanceof StorageError) throw error;
      throw new InputFetchFailedError(messageOf(error), {
        url: input.content ? undefined : input.url,
        path: input.path,
        cause: error,
      });
    }
  }
  logger.info({ count: inputs.length }, 'staged inputs');
}

async function stageInput(
  input: TesInput,
  index: number,
  hostPath: string,
  options: StageInputsOptions,
): Promise<void> {
  // TES: "If content is not empty, url must be ignored." Empty content without a url is an empty file.
  if (input.content || (input.content !== undefined && input.url === undefined)) {
    if (input.type === 'DIRECTORY') {
      throw new InvalidTaskFileError(
        `inputs[${index}].type`,
        'inline content cannot be a DIRECTORY',
      );
    }
    await writeContent(input.content, hostPath);
    return;
  }
  if (input.url === undefined) {
    throw new InvalidTaskFileError(`inputs[${index}].url`, 'required unless content is set');
  }

  const { backend, url } = options.registry.resolve(input.url);
  await backend.download(url, hostPath, { type: input.type ?? 'FILE', signal: options.signal });
}

function writeContent(content: string, hostPath: string): Promise<void> {
  return writeAtomically(hostPath, (temporaryPath) => writeFile(temporaryPath, content, 'utf8'));
}
