/**
 * Shared fixtures of the storage tests: temporary directories, a task
 * volume with its `hostPathOf`, and a silent logger.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { HostPathOf } from '../../functions/lib/storage/backend.js';

export const silentLogger = pino({ level: 'silent' });

/** A fresh temporary directory, removed by {@link TempDirectory.remove}. */
export class TempDirectory {
  private constructor(readonly root: string) {}

  static async create(): Promise<TempDirectory> {
    return new TempDirectory(await mkdtemp(path.join(os.tmpdir(), 'poiesis-storage-')));
  }

  /** Returns the absolute path of `relative` inside this directory. */
  path(...relative: string[]): string {
    return path.join(this.root, ...relative);
  }

  /** Writes a file, creating its parents, and returns its absolute path. */
  async write(relative: string, content: string | Buffer): Promise<string> {
    const target = this.path(relative);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
    return target;
  }

  read(relative: string): Promise<Buffer> {
    return readFile(this.path(relative));
  }

  remove(): Promise<void> {
    return rm(this.root, { recursive: true, force: true });
  }
}

/** Returns a `hostPathOf` that maps every container path into `volume`, as a task root. */
export function hostPathsIn(volume: string): HostPathOf {
  return (containerPath) => path.join(volume, containerPath);
}

/**
 * Returns every entry under `directory` by relative path: the SHA-256 of a
 * file's content, or `dir` for a directory, to compare two trees.
 */
export async function snapshotTree(directory: string): Promise<Record<string, string>> {
  const snapshot: Record<string, string> = {};
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    const absolute = path.join(entry.parentPath, entry.name);
    const relative = path.relative(directory, absolute);
    snapshot[relative] = entry.isDirectory()
      ? 'dir'
      : createHash('sha256')
          .update(await readFile(absolute))
          .digest('hex');
  }
  return snapshot;
}
