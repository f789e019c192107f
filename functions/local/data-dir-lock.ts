/**
 * One `poiesis local` per data directory: two would both reconcile and run
 * the same tasks. The lock is a file holding the owner's process id; a lock
 * whose process is gone is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PoiesisError } from '../lib/errors.js';

export class DataDirectoryLockedError extends PoiesisError {
  readonly status = 409;
  readonly reason = 'DataDirectoryLocked';

  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `data directory ${dataDir} is in use by poiesis process ${pid}; stop that process or ` +
        'start with another --data-dir',
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `dataDir` and returns the function that releases it. */
export function lockDataDirectory(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'poiesis.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new DataDirectoryLockedError(dataDir, owner);
    }
    // The owner is gone: the lock is stale.
    rmSync(file, { force: true });
  }
  throw new DataDirectoryLockedError(dataDir, Number(readFileSync(file, 'utf8').trim()));
}
