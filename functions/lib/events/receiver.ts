/**
 * The Koa side of event delivery. It accepts one CloudEvent per POST, in
 * binary or structured content mode, checks it against the catalogue and
 * calls the handler of its type.
 *
 * Status codes follow the Knative data-plane contract, which decides
 * whether the broker retries:
 * - 202: the handler accepted the event (a 202 is never a reply event).
 * - 400: the event can never succeed. It is malformed, of an unknown type,
 *   has invalid data or no handler here, or a handler threw
 *   {@link PermanentEventError}.
 * - 413: the body is longer than `maxBodyBytes`.
 * - 429: a handler threw {@link OverloadedEventError}.
 * - 500: any other handler error, which the broker retries.
 */
import type { Context, Middleware } from 'koa';
import { componentLogger, type Logger } from '../logging.js';
import {
  validateEvent,
  type AnyPoiesisEvent,
  type EventType,
  type PoiesisEvent,
} from './catalogue.js';
import {
  EventTooLargeError,
  InvalidEventError,
  OverloadedEventError,
  PermanentEventError,
} from './errors.js';
import { DEFAULT_MAX_EVENT_BYTES, errorBody, readBody, toCloudEvent } from './http-binding.js';

/** The arguments of a handler besides the event. */
export interface EventHandlerContext {
  /** A child logger carrying `taskId`, `event.type` and `event.id`. */
  logger: Logger;
  /** The Koa context of the delivery request. */
  koa: Context;
}

/**
 * Handles one event. It must be idempotent, because a broker may deliver an
 * event more than once and out of order, and it must return quickly: long
 * work is started here and reports back with an event of its own.
 */
export type EventHandler<E> = (event: E, context: EventHandlerContext) => Promise<void> | void;

/** One handler per event type this receiver consumes. */
export type EventHandlers = { [T in EventType]?: EventHandler<PoiesisEvent<T>> };

export interface EventReceiverOptions {
  handlers: EventHandlers;
  /**
   * Handles valid catalogue events whose type has no entry in `handlers`,
   * such as a dead-letter sink that takes every type. Without it those
   * events get 400.
   */
  fallback?: EventHandler<AnyPoiesisEvent>;
  /** Longest accepted request body, in bytes. @defaultValue 1 MiB */
  maxBodyBytes?: number;
  logger?: Logger;
}

/**
 * Creates a Koa middleware that receives events, for example
 * `router.post('/', eventReceiver({ handlers }))`. It responds to every
 * request itself and never calls `next`. OPTIONS returns `Allow`, because
 * the Knative data-plane contract lets senders probe with it.
 */
export function eventReceiver(options: EventReceiverOptions): Middleware {
  const logger = options.logger ?? componentLogger('events');
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_EVENT_BYTES;

  return async (ctx) => {
    if (ctx.method === 'OPTIONS') {
      ctx.set('Allow', 'POST, OPTIONS');
      ctx.status = 204;
      return;
    }
    if (ctx.method !== 'POST') {
      ctx.set('Allow', 'POST, OPTIONS');
      respondWithError(ctx, 405, `method ${ctx.method} is not allowed; POST one CloudEvent`);
      return;
    }

    let event: AnyPoiesisEvent | undefined;
    try {
      const body = await readBody(ctx.req, maxBodyBytes);
      event = validateEvent(toCloudEvent(ctx.req.headers, body));
      const eventLogger = logger.child({
        taskId: event.subject,
        'event.type': event.type,
        'event.id': event.id,
      });
      eventLogger.debug({ source: event.source }, 'received event');

      await dispatch(options, event, { logger: eventLogger, koa: ctx });
      ctx.body = null;
      ctx.status = 202;
    } catch (error) {
      respondToFailure(ctx, logger, error, event);
    }
  };
}

function dispatch(
  options: EventReceiverOptions,
  event: AnyPoiesisEvent,
  context: EventHandlerContext,
): Promise<void> | void {
  // The map type pairs each type with its handler, but TypeScript cannot
  // follow that through an index by a union, so the handler is widened.
  const handler = options.handlers[event.type] as EventHandler<AnyPoiesisEvent> | undefined;
  if (handler) return handler(event, context);
  if (options.fallback) return options.fallback(event, context);
  throw new InvalidEventError([
    `type: this receiver has no handler for ${event.type}; check the subscription or Trigger filter`,
  ]);
}

function respondToFailure(
  ctx: Context,
  logger: Logger,
  error: unknown,
  event: AnyPoiesisEvent | undefined,
): void {
  const fields = event
    ? { taskId: event.subject, 'event.type': event.type, 'event.id': event.id }
    : { 'event.type': ctx.get('ce-type') || undefined, 'event.id': ctx.get('ce-id') || undefined };

  if (
    error instanceof InvalidEventError ||
    error instanceof EventTooLargeError ||
    error instanceof PermanentEventError
  ) {
    logger.warn({ ...fields, reason: error.reason, err: error }, 'rejected event for good');
    respondWithError(ctx, error.status, error.message);
    return;
  }
  if (error instanceof OverloadedEventError) {
    logger.info(
      { ...fields, reason: error.reason },
      'rejected event because the handler is overloaded',
    );
    if (error.retryAfterSeconds !== undefined) {
      ctx.set('Retry-After', String(Math.ceil(error.retryAfterSeconds)));
    }
    respondWithError(ctx, 429, error.message);
    return;
  }

  logger.error({ ...fields, err: error }, 'handling event failed; the broker will retry it');
  const detail = error instanceof Error ? error.message : String(error);
  respondWithError(ctx, 500, `handling the event failed: ${detail}`);
}

function respondWithError(ctx: Context, status: number, message: string): void {
  ctx.status = status;
  ctx.body = errorBody(status, message);
}
