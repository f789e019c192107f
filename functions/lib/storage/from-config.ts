/**
 * The storage backends as the configuration sets them up, and how
 * service-info and request validation describe them.
 */
import { pathToFileURL } from 'node:url';
import type { Config } from '../config.js';
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
    inputSchemes: registry.schemes,
    outputSchemes: registry.uploadSchemes,
    backendParameters: [] as string[],
  };
}
