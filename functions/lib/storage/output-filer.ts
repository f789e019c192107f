/**
 * The output filer: uploads a task's outputs from its volume after the
 * executors ran, and returns the `tesOutputFileLog` entries.
 */
import path from 'node:path';
import { componentLogger, type Logger } from '../logging.js';
import type { TesOutput, TesOutputFileLog } from '../tes/schemas.js';
import type { HostPathOf } from './backend.js';
import { resolveContainerPath } from './container-path.js';
import {
  InvalidTaskFileError,
  OutputMissingError,
  OutputUploadFailedError,
  StorageError,
} from './errors.js';
import { messageOf } from './fs-errors.js';
import { hasWildcards } from './glob.js';
import type { StorageRegistry } from './registry.js';
import { appendToUrl, redactUrl } from './url.js';
import { listDirectoryFiles, matchFiles, type VolumeFile } from './volume-files.js';

export interface FileOutputsOptions {
  registry: StorageRegistry;
  /** Aborts filing, for example when the task is canceled. */
  signal?: AbortSignal;
  /** Added to every log line. */
  taskId?: string;
  logger?: Logger;
}

/** A file of the volume and the URL it goes to. */
type Upload = VolumeFile & { url: string };

/**
 * Uploads every output and returns one log entry per uploaded file, with
 * `size_bytes` as a decimal string:
 *
 * - a FILE output uploads the file at `path` to `url`;
 * - a path with POSIX wildcards uploads each matching regular file to `url`
 *   (taken as a directory) joined with the match minus `path_prefix`, and no
 *   match uploads nothing;
 * - a DIRECTORY output copies the tree at `path` into `url` itself.
 *
 * Every output is attempted, so one failure does not keep the others from
 * their URLs. Then the first failure is thrown as a `StorageError`, and the
 * log entries of the outputs that did succeed are only logged.
 */
export async function fileOutputs(
  outputs: readonly TesOutput[],
  hostPathOf: HostPathOf,
  options: FileOutputsOptions,
): Promise<TesOutputFileLog[]> {
  const base = options.logger ?? componentLogger('output-filer');
  const logger = options.taskId === undefined ? base : base.child({ taskId: options.taskId });
  const fileLogs: TesOutputFileLog[] = [];
  let firstError: StorageError | undefined;

  for (const [index, output] of outputs.entries()) {
    const url = redactUrl(output.url);
    logger.info({ path: output.path, url }, 'filing output');
    try {
      options.signal?.throwIfAborted();
      const uploads = await uploadsOf(output, index, hostPathOf, logger);
      for (const upload of uploads) fileLogs.push(await uploadFile(upload, options));
      logger.info({ path: output.path, url, files: uploads.length }, 'filed output');
    } catch (error) {
      logger.warn({ path: output.path, url, err: error }, 'output filing failed');
      firstError ??= asStorageError(error, output);
    }
  }

  if (firstError !== undefined) throw firstError;
  return fileLogs;
}

/** Lists the files of one output with their target URLs. */
async function uploadsOf(
  output: TesOutput,
  index: number,
  hostPathOf: HostPathOf,
  logger: Logger,
): Promise<Upload[]> {
  if (hasWildcards(output.path)) return matchedUploads(output, index, hostPathOf);

  const entry = await resolveContainerPath(output.path, hostPathOf);
  if ('problem' in entry) {
    throw new OutputMissingError(
      output.path,
      `${entry.problem}; check that the executors write it`,
    );
  }

  if (output.type === 'DIRECTORY') {
    if (!entry.stats.isDirectory()) {
      throw new OutputMissingError(output.path, 'is not a directory; set the output type to FILE');
    }
    const files = await listDirectoryFiles(output.path, entry, hostPathOf, logger);
    return files.map((file) => ({
      ...file,
      url: appendToUrl(output.url, path.posix.relative(output.path, file.containerPath)),
    }));
  }

  if (entry.stats.isDirectory()) {
    throw new OutputMissingError(output.path, 'is a directory; set the output type to DIRECTORY');
  }
  if (!entry.stats.isFile()) {
    throw new OutputMissingError(output.path, 'is not a regular file');
  }
  return [
    {
      containerPath: output.path,
      hostPath: entry.hostPath,
      sizeBytes: entry.stats.size,
      url: output.url,
    },
  ];
}

/** Lists the files that match a wildcard output, each with `url` joined to its path after `path_prefix`. */
async function matchedUploads(
  output: TesOutput,
  index: number,
  hostPathOf: HostPathOf,
): Promise<Upload[]> {
  const prefix = output.path_prefix;
  const field = `outputs[${index}].path_prefix`;
  if (prefix === undefined || prefix === '') {
    throw new InvalidTaskFileError(field, 'required when path has wildcards');
  }

  const files = await matchFiles(output.path, hostPathOf);
  return files.map((file) => {
    if (!file.containerPath.startsWith(prefix)) {
      throw new InvalidTaskFileError(
        field,
        `"${prefix}" is not a prefix of the matching file ${file.containerPath}`,
      );
    }
    const relative = file.containerPath.slice(prefix.length).replace(/^\/+/, '');
    if (relative === '') {
      throw new InvalidTaskFileError(
        field,
        `"${prefix}" is the whole matching file ${file.containerPath}; end it at a directory`,
      );
    }
    return { ...file, url: appendToUrl(output.url, relative) };
  });
}

/** Wraps an unexpected error, such as a failed `readdir` of the volume, for the task's logs. */
function asStorageError(error: unknown, output: TesOutput): StorageError {
  if (error instanceof StorageError) return error;
  return new OutputUploadFailedError(output.url, messageOf(error), {
    path: output.path,
    cause: error,
  });
}

async function uploadFile(upload: Upload, options: FileOutputsOptions): Promise<TesOutputFileLog> {
  const { backend, url } = options.registry.resolveForUpload(upload.url);
  try {
    await backend.upload(upload.hostPath, url, { signal: options.signal });
  } catch (error) {
    if (error instanceof StorageError) throw error;
    throw new OutputUploadFailedError(upload.url, messageOf(error), {
      path: upload.containerPath,
      cause: error,
    });
  }
  return { url: upload.url, path: upload.containerPath, size_bytes: String(upload.sizeBytes) };
}
