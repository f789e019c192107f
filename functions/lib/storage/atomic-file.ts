/**
 * Writes files under a temporary name beside the target and renames them
 * into place, so a reader never sees half a file and a crashed transfer
 * leaves the target as it was.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Returns the temporary path used while `hostPath` is written. The name is
 * fixed rather than random, so a run that repeats a crashed one overwrites
 * and renames away the partial file instead of leaving it behind.
 */
export function partialPathOf(hostPath: string): string {
  return path.join(path.dirname(hostPath), `.${path.basename(hostPath)}.poiesis-partial`);
}

/**
 * Creates the parent directories of `hostPath`, calls `write` with the
 * temporary path, then renames the result to `hostPath`. On failure the
 * temporary file is removed and the error is thrown again.
 */
export async function writeAtomically(
  hostPath: string,
  write: (temporaryPath: string) => Promise<void>,
): Promise<void> {
  await mkdir(path.dirname(hostPath), { recursive: true });
  const temporaryPath = partialPathOf(hostPath);
  try {
    await write(temporaryPath);
    await rename(temporaryPath, hostPath);
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
}
