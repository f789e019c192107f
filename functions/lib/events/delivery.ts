/**
 * At-least-once delivery of one event to one subscriber. It POSTs the event
 * and retries with exponential backoff while the response status is
 * retryable under the Knative data-plane contract.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloudEventV1 } from 'cloudevents';
import { postEvent, type EventResponse } from './http-binding.js';

/** A wait of `ms` milliseconds that rejects when `signal` aborts. Tests inject one that does not sleep. */
export type Delay = (ms: number, signal: AbortSignal) => Promise<void>;

/** Waits on a real timer. This is the default {@link Delay}. */
export const realDelay: Delay = async (ms, signal) => {
  await sleep(ms, undefined, { signal });
};

/** The retry settings of one delivery, like a Knative `DeliverySpec`. */
export interface RetryPolicy {
  /** Attempts in all, the first included, so 1 never retries. @defaultValue 6 */
  attempts: number;
  /** Wait before the first retry, in milliseconds. @defaultValue 200 */
  backoffDelayMs: number;
  /** Each further retry waits this many times longer. @defaultValue 2 */
  backoffFactor: number;
  /** Upper bound of one wait, in milliseconds. @defaultValue 30000 */
  maxBackoffDelayMs: number;
  /** Time limit of one attempt, in milliseconds. @defaultValue 30000 */
  timeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  attempts: 6,
  backoffDelayMs: 200,
  backoffFactor: 2,
  maxBackoffDelayMs: 30_000,
  timeoutMs: 30_000,
};

/**
 * Checks whether a response status calls for a retry. The Knative data-plane
 * contract retries 404, 409, 429 and 5xx, while 400 and the other 4xx are
 * final. Network errors and timeouts, which have no status, are retried too.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 404 || status === 409 || status === 429 || (status >= 500 && status <= 599);
}

/** Returns the wait before retry `retry` (1 for the first retry), in milliseconds. */
export function backoffDelayMs(policy: RetryPolicy, retry: number): number {
  const delay = policy.backoffDelayMs * policy.backoffFactor ** (retry - 1);
  return Math.min(delay, policy.maxBackoffDelayMs);
}

/** The end of a delivery: accepted, or failed for good. */
export type DeliveryResult =
  | { delivered: true; attempts: number; status: number }
  | {
      delivered: false;
      attempts: number;
      /** The last response, absent when the last attempt got none. */
      response?: EventResponse;
      /** The network error or timeout of the last attempt. */
      error?: unknown;
    };

export interface DeliverOptions {
  policy: RetryPolicy;
  delay: Delay;
  /** Signal that cancels the delivery, including a pending wait or request. */
  signal: AbortSignal;
  fetch?: typeof fetch;
  /**
   * Called before each retry with its number (from 1), the wait in
   * milliseconds, and the last `EventResponse` or network error.
   */
  onRetry?: (retry: number, waitMs: number, last: unknown) => void;
}

/**
 * Delivers `event` to `url`, retrying per `policy`.
 *
 * @throws the abort reason once `signal` aborts. Every other failure ends in
 *   a result with `delivered: false`.
 */
export async function deliverWithRetry(
  url: string,
  event: CloudEventV1<unknown>,
  options: DeliverOptions,
): Promise<DeliveryResult> {
  const { policy, signal } = options;
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    let response: EventResponse | undefined;
    let error: unknown;
    try {
      response = await postEvent(url, event, {
        timeoutMs: policy.timeoutMs,
        signal,
        fetch: options.fetch,
      });
    } catch (caught) {
      signal.throwIfAborted();
      error = caught;
    }

    if (response && response.status >= 200 && response.status <= 299) {
      return { delivered: true, attempts: attempt, status: response.status };
    }
    const retryable = response === undefined || isRetryableStatus(response.status);
    if (!retryable || attempt >= policy.attempts) {
      return { delivered: false, attempts: attempt, response, error };
    }

    // NOTE: a `Retry-After` header on a 429 or 503 is ignored; the wait is always the backoff.
    const waitMs = backoffDelayMs(policy, attempt);
    options.onRetry?.(attempt, waitMs, response ?? error);
    await options.delay(waitMs, signal);
  }
}
