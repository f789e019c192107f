/**
 * The interface every storage protocol implements. One module per protocol
 * (`file.ts`, `http.ts`, later `s3.ts`) and a `StorageRegistry` that
 * picks the backend by URL scheme.
 */
import type { TesFileType } from '../tes/schemas.js';

/**
 * Maps an absolute container path without `..` segments to the host path
 * where it lives in the task volume. The filers read and write only there.
 */
export type HostPathOf = (containerPath: string) => string;

export interface DownloadOptions {
  /** `FILE` downloads one file, and `DIRECTORY` downloads a whole tree into `hostPath`. */
  type: TesFileType;
  /** Aborts the transfer, for example when the task is canceled. */
  signal?: AbortSignal;
}

export interface UploadOptions {
  /** Aborts the transfer, for example when the task is canceled. */
  signal?: AbortSignal;
}

/** One storage protocol, such as `file` or `http`. */
export interface StorageBackend {
  /** URL schemes this backend serves, lowercase and without the colon. */
  readonly schemes: readonly string[];

  /** Whether `upload` is implemented. An HTTP backend only downloads. */
  readonly supportsUpload: boolean;

  /**
   * Downloads the file or directory at `url` to `hostPath`, creating parent
   * directories and replacing a file already there, so a repeated call gives
   * the same result. Throws a `StorageError`.
   */
  download(url: URL, hostPath: string, options: DownloadOptions): Promise<void>;

  /**
   * Uploads the regular file at `hostPath` to `url`, replacing what is there.
   * Directories are uploaded by the output filer one file at a time, because
   * object stores have no directories. Throws a `StorageError`.
   */
  upload(hostPath: string, url: URL, options?: UploadOptions): Promise<void>;
}
