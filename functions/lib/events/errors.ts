/**
 * Errors of event publishing and delivery. The receiver maps them to the
 * status codes of the Knative data-plane contract: 400 is never retried,
 * 429 and 5xx are.
 */
import { PoiesisError } from '../errors.js';

/**
 * An event that breaks the CloudEvents 1.0 rules or the catalogue: malformed,
 * of an unknown type, or with invalid `data`. Every problem is listed at once.
 */
export class InvalidEventError extends PoiesisError {
  readonly status = 400;
  readonly reason = 'InvalidEvent';

  constructor(
    readonly problems: readonly string[],
    options?: ErrorOptions,
  ) {
    super(problems.join('; '), options);
  }
}

/** A request body longer than the receiver accepts. */
export class EventTooLargeError extends PoiesisError {
  readonly status = 413;
  readonly reason = 'EventTooLarge';

  constructor(readonly maxBytes: number) {
    super(`event body is larger than ${maxBytes} bytes; send a smaller event`);
  }
}

/**
 * Thrown by a handler for an event that can never succeed, such as one for a
 * task that does not exist. The receiver responds with 400, so the broker
 * does not retry and sends the event to the dead-letter sink.
 */
export class PermanentEventError extends PoiesisError {
  readonly status = 400;
  readonly reason: string;

  /** @param reason - PascalCase reason, such as `TaskNotFound`. */
  constructor(message: string, options: ErrorOptions & { reason?: string } = {}) {
    super(message, options);
    this.reason = options.reason ?? 'PermanentFailure';
  }
}

/**
 * Thrown by a handler that cannot take more work now. The receiver responds
 * with 429 and `Retry-After` when set, and the broker retries with backoff.
 */
export class OverloadedEventError extends PoiesisError {
  readonly status = 429;
  readonly reason = 'Overloaded';

  /** @param retryAfterSeconds - sent as the `Retry-After` header when set. */
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/**
 * A publish that the broker did not accept: a non-2xx status, a network
 * error or a timeout. The event may or may not have been stored, so the
 * caller retries or lets its own event delivery be retried.
 */
export class PublishError extends PoiesisError {
  /** Status for a Koa boundary that lets this error through, because the failure is transient. */
  readonly status = 503;
  readonly reason: 'PublishRejected' | 'PublishFailed' | 'PublishTimedOut';

  /**
   * @param responseStatus - the broker's HTTP status, absent after a network
   *   error or a timeout.
   */
  constructor(
    message: string,
    readonly responseStatus?: number,
    options: ErrorOptions & { timedOut?: boolean } = {},
  ) {
    super(message, options);
    if (responseStatus !== undefined) this.reason = 'PublishRejected';
    else this.reason = options.timedOut ? 'PublishTimedOut' : 'PublishFailed';
  }
}
