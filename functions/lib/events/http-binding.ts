/**
 * The CloudEvents HTTP protocol binding as Poiesis uses it, on top of the
 * `cloudevents` SDK (v10): reading one event from a request in binary or
 * structured content mode, and POSTing one in binary mode.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { HTTP, type CloudEvent, type CloudEventV1 } from 'cloudevents';
import { EventTooLargeError, InvalidEventError } from './errors.js';

/**
 * Default limit of an event body, in bytes. The largest catalogue event,
 * `outputs.filed`, lists one short entry per output file.
 */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Reads a request body of at most `maxBytes` bytes.
 *
 * @throws EventTooLargeError when the body or its announced
 *   `Content-Length` is longer. The rest of the body is then discarded, so a
 *   response can still be sent.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const announced = Number(request.headers['content-length']);
  if (Number.isFinite(announced) && announced > maxBytes) {
    request.resume();
    return Promise.reject(new EventTooLargeError(maxBytes));
  }

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) {
        cleanUp();
        request.resume();
        reject(new EventTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanUp();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanUp();
      reject(error);
    };
    const onClose = () => {
      cleanUp();
      reject(new Error('request closed before its body was complete'));
    };
    const cleanUp = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
  });
}

/**
 * Converts an HTTP request into one CloudEvent and checks it against the
 * CloudEvents 1.0 rules. `HTTP.toEvent` alone does not validate, so this
 * calls `event.validate()` too. Batched mode is rejected.
 *
 * @throws InvalidEventError when the request is not one valid CloudEvent 1.0.
 */
export function toCloudEvent(headers: IncomingHttpHeaders, body: Buffer): CloudEvent<unknown> {
  let converted: CloudEventV1<unknown> | CloudEventV1<unknown>[];
  try {
    converted = HTTP.toEvent<unknown>({
      headers: withCanonicalContentType(headers),
      // An empty binary-mode body is an event without data.
      body: body.length === 0 ? undefined : body.toString('utf8'),
    });
  } catch (error) {
    throw new InvalidEventError([`event: ${messageOf(error)}`], { cause: error });
  }
  if (Array.isArray(converted)) {
    throw new InvalidEventError([
      'event: batched mode is not supported; send one event per request',
    ]);
  }

  const event = converted as CloudEvent<unknown>;
  if (event.specversion !== '1.0') {
    throw new InvalidEventError([
      `specversion: ${JSON.stringify(event.specversion)} is not supported; send CloudEvents 1.0`,
    ]);
  }
  try {
    event.validate();
  } catch (error) {
    throw new InvalidEventError(validationProblems(error), { cause: error });
  }
  return event;
}

/** An HTTP response to a POSTed event, with only the start of its body. */
export interface EventResponse {
  status: number;
  /** At most `maxResponseBytes` of the response body. */
  body: Buffer;
}

export interface PostEventOptions {
  /** Time limit of the whole exchange, in milliseconds. */
  timeoutMs: number;
  /** Signal that aborts the request, for example when a broker closes. */
  signal?: AbortSignal;
  /** Bytes of the response body to keep. @defaultValue 4096 */
  maxResponseBytes?: number;
  fetch?: typeof fetch;
}

/**
 * POSTs `event` to `url` in binary content mode (`ce-*` headers, `data` as
 * the body). Resolves with any HTTP response, 2xx or not, so the caller
 * decides what a status means.
 *
 * @throws the `fetch` error on a network failure; its `name` is
 *   `TimeoutError` after `timeoutMs` and `AbortError` when `signal` aborts.
 */
export async function postEvent(
  url: string | URL,
  event: CloudEventV1<unknown>,
  options: PostEventOptions,
): Promise<EventResponse> {
  const message = HTTP.binary(event);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const response = await (options.fetch ?? fetch)(url, {
    method: 'POST',
    headers: toFetchHeaders(message.headers),
    body: toFetchBody(message.body),
    // The Knative data-plane contract makes a 3xx an error, not a detour.
    redirect: 'manual',
    signal,
  });
  const body = await readStart(response, options.maxResponseBytes ?? 4096);
  return { status: response.status, body };
}

/** Checks whether `error`, thrown by {@link postEvent}, is its timeout. */
export function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === 'TimeoutError';
}

/** Returns the body of a 4xx or 5xx response, in the GA4GH WES error shape. */
export function errorBody(status: number, message: string): { msg: string; status_code: number } {
  return { msg: message, status_code: status };
}

/**
 * Drops the parameters of a JSON `Content-Type`. The SDK picks its body
 * parser by the exact header text, so `application/json;charset=UTF-8` would
 * leave the body unparsed. JSON text is UTF-8 (RFC 8259), so nothing is lost.
 */
function withCanonicalContentType(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const value = headers['content-type'];
  if (value === undefined) return headers;
  const mediaType = value.split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType.startsWith('application/cloudevents')) {
    return { ...headers, 'content-type': mediaType };
  }
  return headers;
}

function toFetchHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    result[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return result;
}

function toFetchBody(body: unknown): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (ArrayBuffer.isView(body))
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return JSON.stringify(body);
}

/** Reads the first `maxBytes` of a response body and drops the rest. */
async function readStart(response: Response, maxBytes: number): Promise<Buffer> {
  if (response.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body.getReader();
  while (length < maxBytes) {
    const chunk = (await reader.read()) as { done: boolean; value?: Uint8Array };
    if (chunk.done || !chunk.value) break;
    const value = chunk.value;
    chunks.push(value);
    length += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, maxBytes);
}

function validationProblems(error: unknown): string[] {
  const details = (error as { errors?: unknown }).errors;
  if (!Array.isArray(details) || details.length === 0) return [`event: ${messageOf(error)}`];
  return details.map((detail: { instancePath?: string; message?: string }) => {
    const attribute = detail.instancePath?.replace(/^\//, '') || 'event';
    return `${attribute}: ${detail.message ?? 'invalid'}`;
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
