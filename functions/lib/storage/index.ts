/**
 * The storage layer: staging task inputs into the task volume and filing
 * outputs from it, over the protocols of the registered backends.
 */
export type { DownloadOptions, HostPathOf, StorageBackend, UploadOptions } from './backend.js';
export * from './errors.js';
export { FileBackend, type FileBackendOptions } from './file.js';
export { hasWildcards } from './glob.js';
export { HttpBackend, type HttpBackendOptions } from './http.js';
export { stageInputs, type StageInputsOptions } from './input-filer.js';
export { fileOutputs, type FileOutputsOptions } from './output-filer.js';
export {
  createStorageRegistry,
  StorageRegistry,
  type ResolvedUrl,
  type StorageRegistryOptions,
} from './registry.js';
export { redactUrl } from './url.js';
