/**
 * The storage backends as the configuration sets them up, and how
 * service-info and request validation describe them.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config.js';
import type { FileAccess } from '../tes/validation-urls.js';
import { createStorageRegistry, type StorageRegistry } from './registry.js';

export function storageFromConfig(
  config: Pick<Config, 'fileAllow' | 'httpTimeoutSeconds' | 'dataDir'>,
): StorageRegistry {
  return createStorageRegistry({
    // The data directory contains every task's volume, the database and the page token key.
    file: { allowedDirectories: config.fileAllow, deniedDirectories: [config.dataDir] },
    http: { timeoutMs: config.httpTimeoutSeconds * 1000 },
  });
}

/**
 * What the API reports and checks about storage: the allowed `file://`
 * directories and the other schemes as `scheme://` for service-info, and
 * the schemes inputs and outputs may use.
 */
export function storageDescription(
  config: Pick<Config, 'fileAllow' | 'httpTimeoutSeconds' | 'dataDir'>,
) {
  const registry = storageFromConfig(config);
  const storage = registry.schemes.flatMap((scheme) =>
    scheme === 'file'
      ? config.fileAllow.map((directory) => pathToFileURL(directory).href)
      : [`${scheme}://`],
  );
  return {
    storage,
    fileAccess: fileAccessOf(config),
    inputSchemes: registry.schemes,
    outputSchemes: registry.uploadSchemes,
    backendParameters: [] as string[],
  };
}

/**
 * Returns the directories `file` URLs may use, for the check at submission.
 * Each directory is listed as configured and, when it differs, as its real
 * path, so that a URL through either form passes.
 */
function fileAccessOf(config: Pick<Config, 'fileAllow' | 'dataDir'>): FileAccess {
  // NOTE: real paths are read once, at start. A directory created or relinked later is
  // compared only as configured, and the filers' own check then decides.
  const withRealPaths = (directories: readonly string[]) => [
    ...new Set(
      directories.flatMap((directory) => [path.resolve(directory), realPathOr(directory)]),
    ),
  ];
  return { allowed: withRealPaths(config.fileAllow), denied: withRealPaths([config.dataDir]) };
}

/** Returns the real path of `directory`, or its resolved path while it does not exist. */
function realPathOr(directory: string): string {
  try {
    return realpathSync(directory);
  } catch {
    return path.resolve(directory);
  }
}
