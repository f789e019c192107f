/**
 * Errors of input staging and output filing. The filers throw them so the
 * caller can fail the task with SYSTEM_ERROR and put the `reason` and the
 * message in the task's `system_logs`. URLs in messages and fields are
 * redacted (see {@link redactUrl}) because they may carry credentials.
 *
 * The status is what a Koa boundary would respond with if the error reached
 * one, for example when a URL is checked while a task is created. It is 400
 * for a task that can never succeed as written, 502 for a remote store that
 * failed and 500 for a failure on this side.
 */
import { PoiesisError } from '../errors.js';
import { redactUrl } from './url.js';

/** Base class of every storage error, so a caller can tell filing failures apart. */
export abstract class StorageError extends PoiesisError {}

/** A URL whose scheme no storage backend serves, such as `gs://` when only `file` and `http` are set up. */
export class UnsupportedSchemeError extends StorageError {
  readonly status = 400;
  readonly reason = 'UnsupportedScheme';
  readonly url: string;

  constructor(
    url: string,
    readonly scheme: string,
    readonly supportedSchemes: readonly string[],
  ) {
    const redacted = redactUrl(url);
    super(
      `url ${redacted} has the unsupported scheme "${scheme}"; ` +
        `use one of: ${supportedSchemes.join(', ')}`,
    );
    this.url = redacted;
  }
}

/** A URL that cannot be parsed, or a `file` URL that is not an absolute local path. */
export class InvalidUrlError extends StorageError {
  readonly status = 400;
  readonly reason = 'InvalidUrl';
  readonly url: string;

  constructor(url: string, problem: string, options?: ErrorOptions) {
    const redacted = redactUrl(url);
    super(`url ${redacted} is invalid: ${problem}`, options);
    this.url = redacted;
  }
}

/** A backend asked for something its protocol cannot do, such as an upload over HTTP. */
export class UnsupportedOperationError extends StorageError {
  readonly status = 400;
  readonly reason = 'UnsupportedOperation';
  readonly url: string;

  constructor(
    url: string,
    readonly operation: 'upload' | 'directory download',
    hint: string,
  ) {
    const redacted = redactUrl(url);
    super(`${operation} is not supported for url ${redacted}; ${hint}`);
    this.url = redacted;
  }
}

/** A `file` URL outside the host directories that the server is configured to allow. */
export class UrlNotAllowedError extends StorageError {
  readonly status = 400;
  readonly reason = 'UrlNotAllowed';

  /**
   * @param hostPath - the path the URL resolves to, after symbolic links and `..`.
   * @param allowedDirectories - the configured allow-list.
   */
  readonly url: string;

  constructor(
    url: string,
    readonly hostPath: string,
    readonly allowedDirectories: readonly string[],
    /** The denied directory that contains `hostPath`, when that is why the URL is rejected. */
    readonly deniedDirectory?: string,
  ) {
    const redacted = redactUrl(url);
    const allowed = allowedDirectories.length > 0 ? allowedDirectories.join(', ') : 'none';
    super(
      deniedDirectory === undefined
        ? `url ${redacted} resolves to ${hostPath}, which is outside the allowed directories ` +
            `(${allowed}); use a path inside one of them or add its directory to the allow-list`
        : `url ${redacted} resolves to ${hostPath}, inside ${deniedDirectory}, which no task ` +
            'may read or write because it holds the data of the server; use another directory',
    );
    this.url = redacted;
  }
}

/** A task input or output that breaks a TES rule the validation did not catch. */
export class InvalidTaskFileError extends StorageError {
  readonly status = 400;
  readonly reason: 'InvalidInput' | 'InvalidOutput';

  /** @param field - the field path, such as `outputs[2].path_prefix`. */
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.reason = field.startsWith('inputs') ? 'InvalidInput' : 'InvalidOutput';
  }
}

/** An input that could not be fetched or written into the task volume. */
export class InputFetchFailedError extends StorageError {
  readonly status: number;
  readonly reason = 'InputFetchFailed';
  readonly url: string | undefined;
  readonly path: string | undefined;
  readonly responseStatus: number | undefined;

  /**
   * @param options.url - the input URL, absent for inline `content`.
   * @param options.path - the container path of the input, when known.
   * @param options.responseStatus - the HTTP status of a non-2xx response.
   */
  constructor(
    problem: string,
    options: ErrorOptions & { url?: string; path?: string; responseStatus?: number },
  ) {
    const url = options.url === undefined ? undefined : redactUrl(options.url);
    super(`${describeTransfer('input', options.path, url)} failed: ${problem}`, options);
    this.url = url;
    this.path = options.path;
    this.responseStatus = options.responseStatus;
    this.status = options.responseStatus === undefined ? 500 : 502;
  }
}

/** An output path with no file or directory of the expected type after the executors ran. */
export class OutputMissingError extends StorageError {
  readonly status = 500;
  readonly reason = 'OutputMissing';

  /**
   * @param path - the container path of the output.
   * @param problem - what is wrong and what to do, such as `does not exist`.
   */
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`output ${path} ${problem}`);
  }
}

/** An output file that could not be copied to its URL. */
export class OutputUploadFailedError extends StorageError {
  readonly status = 500;
  readonly reason = 'OutputUploadFailed';
  readonly url: string;
  readonly path: string | undefined;

  /** @param options.path - the container path of the file, when known. */
  constructor(url: string, problem: string, options: ErrorOptions & { path?: string } = {}) {
    const redacted = redactUrl(url);
    super(`${describeTransfer('output', options.path, redacted)} failed: ${problem}`, options);
    this.url = redacted;
    this.path = options.path;
  }
}

/** Names a transfer in a message, such as `input /in/a.txt from url file:///data/a.txt`. */
function describeTransfer(kind: 'input' | 'output', path?: string, url?: string): string {
  const parts: string[] = [kind];
  if (path !== undefined) parts.push(path);
  if (url !== undefined) parts.push(kind === 'input' ? `from url ${url}` : `to url ${url}`);
  return parts.join(' ');
}
