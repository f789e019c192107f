/**
 * The `file` storage backend: inputs and outputs on the host's own file
 * system, restricted to an allow-list of host directories so a task cannot
 * read or overwrite arbitrary files of the server.
 */
import { createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { componentLogger, type Logger } from '../logging.js';
import { writeAtomically } from './atomic-file.js';
import type { DownloadOptions, StorageBackend, UploadOptions } from './backend.js';
import {
  InputFetchFailedError,
  InvalidUrlError,
  OutputUploadFailedError,
  StorageError,
  UrlNotAllowedError,
} from './errors.js';
import { errorCode, messageOf } from './fs-errors.js';

/** Size from which a file is copied as a stream that a cancel can stop, in bytes. */
const STREAM_COPY_BYTES = 64 * 1024 * 1024;

export interface FileBackendOptions {
  /**
   * Absolute host directories that `file` URLs may point into, for reading
   * inputs and writing outputs. A URL is checked after its symbolic links
   * and `..` segments are resolved.
   *
   * @defaultValue `[]`, which rejects every `file` URL
   */
  allowedDirectories?: readonly string[];
  /**
   * Absolute host directories that stay out of reach even inside an allowed
   * one, such as the server's data directory, which contains every task's
   * files, the database and the page token key.
   *
   * @defaultValue `[]`
   */
  deniedDirectories?: readonly string[];
  logger?: Logger;
}

/** Reads and writes `file://` URLs and plain absolute paths inside the allowed directories. */
export class FileBackend implements StorageBackend {
  readonly schemes = ['file'] as const;
  readonly supportsUpload = true;
  readonly allowedDirectories: readonly string[];
  readonly deniedDirectories: readonly string[];
  private readonly logger: Logger;

  constructor(options: FileBackendOptions = {}) {
    this.allowedDirectories = (options.allowedDirectories ?? []).map((directory) => {
      if (!path.isAbsolute(directory)) {
        throw new TypeError(`allowed directory ${directory} must be an absolute path`);
      }
      return path.resolve(directory);
    });
    this.deniedDirectories = (options.deniedDirectories ?? []).map((directory) =>
      path.resolve(directory),
    );
    this.logger = options.logger ?? componentLogger('storage');
  }

  async download(url: URL, hostPath: string, options: DownloadOptions): Promise<void> {
    try {
      await this.copyIn(url, hostPath, options);
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new InputFetchFailedError(messageOf(error), { url: url.href, cause: error });
    }
  }

  async upload(hostPath: string, url: URL, options: UploadOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    try {
      const target = localPathOf(url);
      await this.resolveAllowed(url, target);
      await copyFileTo(hostPath, target, options.signal);
    } catch (error) {
      if (error instanceof StorageError) throw error;
      const problem =
        errorCode(error) === 'EISDIR' ? 'a directory is in the way' : messageOf(error);
      throw new OutputUploadFailedError(url.href, problem, { cause: error });
    }
  }

  private async copyIn(url: URL, hostPath: string, options: DownloadOptions): Promise<void> {
    const source = localPathOf(url);
    const realSource = await this.resolveAllowed(url, source);
    const stats = await statSource(url, realSource);

    if (options.type === 'DIRECTORY') {
      if (!stats.isDirectory()) {
        throw new InputFetchFailedError('it is not a directory; set the input type to FILE', {
          url: url.href,
        });
      }
      await this.copyTree(realSource, hostPath, [realSource], options.signal);
      return;
    }

    if (stats.isDirectory()) {
      throw new InputFetchFailedError('it is a directory; set the input type to DIRECTORY', {
        url: url.href,
      });
    }
    if (!stats.isFile()) {
      throw new InputFetchFailedError('it is not a regular file', { url: url.href });
    }
    await copyFileTo(realSource, hostPath, options.signal);
  }

  /**
   * Returns the real path of `hostPath`, or for a path that does not exist yet
   * the real path of its nearest existing ancestor joined with the rest.
   * Throws {@link UrlNotAllowedError} when that path is outside every allowed
   * directory.
   */
  private async resolveAllowed(url: URL, hostPath: string): Promise<string> {
    const resolved = await realPathOfNearest(hostPath);
    const roots = await Promise.all(this.allowedDirectories.map(realPathOfNearest));
    if (!roots.some((root) => isInside(root, resolved))) {
      throw new UrlNotAllowedError(url.href, resolved, this.allowedDirectories);
    }
    const denied = await Promise.all(this.deniedDirectories.map(realPathOfNearest));
    const deniedRoot = denied.find((root) => isInside(root, resolved));
    if (deniedRoot !== undefined) {
      throw new UrlNotAllowedError(url.href, resolved, this.allowedDirectories, deniedRoot);
    }
    return resolved;
  }

  /**
   * Copies the directory tree at `sourceDirectory` into `targetDirectory`.
   * Symbolic links are followed when their target is allowed: the copy
   * contains their content, never a link to the host. Links to a directory
   * being copied already (a cycle), dangling links and special files such as
   * sockets are skipped with a warning.
   *
   * @param ancestors - real paths of the directories being copied, to detect cycles.
   */
  private async copyTree(
    sourceDirectory: string,
    targetDirectory: string,
    ancestors: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    await mkdir(targetDirectory, { recursive: true });
    const entries = await readdir(sourceDirectory, { withFileTypes: true });

    for (const entry of entries) {
      signal?.throwIfAborted();
      const source = path.join(sourceDirectory, entry.name);
      const target = path.join(targetDirectory, entry.name);
      const resolved = await this.resolveEntry(entry, source);
      if (resolved === undefined) continue;

      if (resolved.kind === 'file') {
        await copyFileTo(resolved.path, target, signal);
      } else if (ancestors.includes(resolved.path)) {
        this.logger.warn({ source }, 'skipped a symbolic link that loops back to its own tree');
      } else {
        await this.copyTree(resolved.path, target, [...ancestors, resolved.path], signal);
      }
    }
  }

  /** Classifies one directory entry, following a symbolic link only into the allow-list. */
  private async resolveEntry(
    entry: Dirent,
    source: string,
  ): Promise<{ kind: 'file' | 'directory'; path: string } | undefined> {
    if (entry.isFile()) return { kind: 'file', path: source };
    if (entry.isDirectory()) return { kind: 'directory', path: source };
    if (!entry.isSymbolicLink()) {
      this.logger.warn({ source }, 'skipped an entry that is neither a file nor a directory');
      return undefined;
    }

    let target: string;
    try {
      target = await realpath(source);
    } catch (error) {
      this.logger.warn({ source, err: error }, 'skipped a dangling symbolic link');
      return undefined;
    }
    await this.resolveAllowed(pathToFileURL(source), target);
    const stats = await stat(target);
    if (stats.isFile()) return { kind: 'file', path: target };
    if (stats.isDirectory()) return { kind: 'directory', path: target };
    this.logger.warn(
      { source },
      'skipped a link to an entry that is neither a file nor a directory',
    );
    return undefined;
  }
}

/** Converts a `file` URL to a host path, rejecting a URL with a remote host. */
function localPathOf(url: URL): string {
  try {
    return fileURLToPath(url);
  } catch (error) {
    throw new InvalidUrlError(
      url.href,
      'a file url needs an absolute local path, as in file:///data/input.txt',
      { cause: error },
    );
  }
}

async function statSource(url: URL, realSource: string) {
  try {
    return await stat(realSource);
  } catch (error) {
    const problem = errorCode(error) === 'ENOENT' ? 'no such file or directory' : messageOf(error);
    throw new InputFetchFailedError(problem, { url: url.href, cause: error });
  }
}

/**
 * Copies a file to `target` atomically. Large files are streamed, so that
 * `signal` can stop the copy; smaller ones use copyFile, which is faster.
 */
async function copyFileTo(source: string, target: string, signal?: AbortSignal): Promise<void> {
  const { size, mode } = await stat(source);
  await writeAtomically(target, async (temporaryPath) => {
    if (signal === undefined || size < STREAM_COPY_BYTES) {
      await copyFile(source, temporaryPath);
      return;
    }
    await pipeline(createReadStream(source), createWriteStream(temporaryPath), { signal });
    // copyFile keeps the mode, such as the executable bit, and so does this path.
    await chmod(temporaryPath, mode & 0o7777);
  });
}

/**
 * Returns the real path of `hostPath`, resolving symbolic links and `..`.
 * For a path that does not exist, the nearest existing ancestor is resolved
 * and the missing rest is appended unchanged.
 */
async function realPathOfNearest(hostPath: string): Promise<string> {
  const missing: string[] = [];
  let current = path.resolve(hostPath);
  for (;;) {
    try {
      return path.join(await realpath(current), ...missing);
    } catch (error) {
      const parent = path.dirname(current);
      if (errorCode(error) !== 'ENOENT' || parent === current) throw error;
      missing.unshift(path.basename(current));
      current = parent;
    }
  }
}

function isInside(directory: string, candidate: string): boolean {
  const relative = path.relative(directory, candidate);
  const outside = relative === '..' || relative.startsWith(`..${path.sep}`);
  return relative === '' || (!outside && !path.isAbsolute(relative));
}
