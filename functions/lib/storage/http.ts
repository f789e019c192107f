/**
 * The `http` and `https` storage backend, for inputs only. A download
 * streams the response body to disk, so memory use does not grow with the
 * size of the file.
 */
import { createWriteStream } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { componentLogger, type Logger } from '../logging.js';
import { writeAtomically } from './atomic-file.js';
import type { DownloadOptions, StorageBackend } from './backend.js';
import { InputFetchFailedError, UnsupportedOperationError } from './errors.js';
import { messageOf } from './fs-errors.js';
import { redactUrl } from './url.js';

export interface HttpBackendOptions {
  /**
   * Maximum time in ms from sending the request until the response headers
   * arrive, redirects included.
   *
   * @defaultValue 60000
   */
  headersTimeoutMs?: number;
  /**
   * Maximum time in ms between two chunks of the response body.
   *
   * @defaultValue 60000
   */
  idleTimeoutMs?: number;
  /**
   * Maximum time in ms for a whole download. Undefined sets no limit, so
   * large files on slow links are bounded only by the idle timeout.
   *
   * @defaultValue undefined
   */
  timeoutMs?: number;
  /** Value of the `user-agent` request header. @defaultValue `'poiesis'` */
  userAgent?: string;
  /** The fetch function, replaceable in tests. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch;
  logger?: Logger;
}

/**
 * Downloads `http://` and `https://` URLs with the WHATWG fetch of Node.js,
 * which follows up to 20 redirects. Any final status other than 2xx fails.
 *
 * NOTE: every host is reachable, private and link-local addresses included,
 * because there is no host allow-list yet.
 */
export class HttpBackend implements StorageBackend {
  readonly schemes = ['http', 'https'] as const;
  readonly supportsUpload = false;
  private readonly headersTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly timeoutMs: number | undefined;
  private readonly userAgent: string;
  private readonly fetch: typeof fetch;
  private readonly logger: Logger;

  constructor(options: HttpBackendOptions = {}) {
    this.headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.timeoutMs = options.timeoutMs;
    this.userAgent = options.userAgent ?? 'poiesis';
    this.fetch = options.fetch ?? globalThis.fetch;
    this.logger = options.logger ?? componentLogger('storage');
  }

  /**
   * Downloads one file. The steps: send the request with a headers timer,
   * check the status, then stream the body through an idle timer into a
   * temporary file that is renamed to `hostPath` once complete.
   */
  async download(url: URL, hostPath: string, options: DownloadOptions): Promise<void> {
    if (options.type === 'DIRECTORY') {
      throw new UnsupportedOperationError(
        url.href,
        'directory download',
        'http has no directory listing, so list each file as its own FILE input',
      );
    }

    const timeouts = new TransferTimeouts(options.signal, this.timeoutMs);
    try {
      const { requestUrl, headers } = withoutCredentials(url);
      headers['user-agent'] = this.userAgent;
      const response = await timeouts.within(this.headersTimeoutMs, 'response headers', () =>
        this.fetch(requestUrl, { redirect: 'follow', headers, signal: timeouts.signal }),
      );
      await this.checkStatus(url, response);
      this.logger.debug(
        { url: redactUrl(url.href), finalUrl: redactUrl(response.url), status: response.status },
        'downloading',
      );
      await writeAtomically(hostPath, (temporaryPath) =>
        pipeline(
          bodyOf(response),
          timeouts.idleWatch(this.idleTimeoutMs),
          createWriteStream(temporaryPath),
          { signal: timeouts.signal },
        ),
      );
    } catch (error) {
      if (error instanceof InputFetchFailedError) throw error;
      const canceled = options.signal?.aborted ? 'the download was canceled' : undefined;
      const problem = timeouts.expired ?? canceled ?? messageOf(causeOf(error));
      throw new InputFetchFailedError(problem, { url: url.href, cause: error });
    } finally {
      timeouts.clear();
    }
  }

  upload(_hostPath: string, url: URL): Promise<void> {
    return Promise.reject(
      new UnsupportedOperationError(
        url.href,
        'upload',
        'set the output url to a file:// location or another writable store',
      ),
    );
  }

  private async checkStatus(url: URL, response: Response): Promise<void> {
    if (response.ok) return;
    // Discards the body so the connection is released.
    await response.body?.cancel().catch(() => undefined);
    throw new InputFetchFailedError(
      `the server responded with status ${response.status} ${response.statusText}`.trimEnd(),
      { url: url.href, responseStatus: response.status },
    );
  }
}

/**
 * Moves `user:password@` from the URL into a Basic `authorization` header,
 * because fetch rejects URLs with credentials, and so no error message can
 * contain the password. The fetch of Node.js drops the header on a redirect
 * to another origin, as the Fetch Standard requires, and a test checks it.
 */
function withoutCredentials(url: URL): { requestUrl: URL; headers: Record<string, string> } {
  if (url.username === '' && url.password === '') return { requestUrl: url, headers: {} };
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const requestUrl = new URL(url);
  requestUrl.username = '';
  requestUrl.password = '';
  const token = Buffer.from(`${user}:${password}`).toString('base64');
  return { requestUrl, headers: { authorization: `Basic ${token}` } };
}

function bodyOf(response: Response): Readable {
  if (response.body === null) return Readable.from([]);
  return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
}

/** Unwraps fetch's `TypeError: fetch failed`, whose cause names the network error. */
function causeOf(error: unknown): unknown {
  if (error instanceof TypeError && error.cause !== undefined) return error.cause;
  return error;
}

/**
 * The timers of one download, all aborting one signal: the caller's signal,
 * an optional total timeout, the headers timeout and the idle timeout.
 * `expired` names the timer that fired, for the error message.
 */
class TransferTimeouts {
  readonly signal: AbortSignal;
  expired: string | undefined;
  private readonly controller = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(callerSignal: AbortSignal | undefined, totalMs: number | undefined) {
    const signals = [this.controller.signal];
    if (callerSignal !== undefined) signals.push(callerSignal);
    this.signal = AbortSignal.any(signals);
    if (totalMs !== undefined) {
      this.start(totalMs, `the download did not finish within ${totalMs} ms`);
    }
  }

  /** Runs `step`, failing it when it takes longer than `ms`. */
  async within<T>(ms: number, what: string, step: () => Promise<T>): Promise<T> {
    const timer = this.start(ms, `timed out after ${ms} ms waiting for the ${what}`);
    try {
      return await step();
    } finally {
      this.stop(timer);
    }
  }

  /** Returns a pass-through stream that fails the transfer when no chunk arrives for `ms`. */
  idleWatch(ms: number): Transform {
    const timer = this.start(ms, `no data arrived for ${ms} ms`);
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback: TransformCallback) => {
        timer.refresh();
        callback(null, chunk);
      },
      flush: (callback: TransformCallback) => {
        this.stop(timer);
        callback();
      },
    });
  }

  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private start(ms: number, message: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.expired ??= message;
      this.controller.abort(new Error(message));
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private stop(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }
}
