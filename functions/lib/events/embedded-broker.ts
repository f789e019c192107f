/**
 * The embedded broker: the one-machine stand-in for a Knative Broker and
 * its Triggers, with the same delivery semantics.
 *
 * Steps of one published event:
 * 1. accept it with 202 once it is a valid CloudEvent 1.0, whatever its type;
 * 2. start one delivery per subscription of its type, without waiting;
 * 3. per delivery, apply the injected faults (duplicate, delay, reorder);
 * 4. POST it to the subscriber, retrying 404, 409, 429, 5xx and network
 *    errors with exponential backoff;
 * 5. when the delivery fails for good, send the event to the dead-letter
 *    sink with the Knative error extensions, if one is configured.
 */
import { setMaxListeners } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloudEvent } from 'cloudevents';
import Koa from 'koa';
import { componentLogger, type Logger } from '../logging.js';
import { withDeliveryFailure } from './dead-letter.js';
import {
  DEFAULT_RETRY_POLICY,
  deliverWithRetry,
  realDelay,
  type Delay,
  type DeliveryResult,
  type RetryPolicy,
} from './delivery.js';
import { EventTooLargeError, InvalidEventError } from './errors.js';
import { FaultInjector, ReorderBuffer, type FaultOptions } from './fault-injection.js';
import { DEFAULT_MAX_EVENT_BYTES, errorBody, readBody, toCloudEvent } from './http-binding.js';

/** Events of `type` go to `url`: one Knative Trigger with a type filter. */
export interface Subscription {
  type: string;
  url: string;
}

export interface EmbeddedBrokerOptions {
  /**
   * The routes, usually made from the catalogue's `eventRoutes()` and the
   * URL of each consumer. More can be added with `subscribe`.
   */
  subscriptions?: readonly Subscription[];
  /** URL of the dead-letter sink. Without it, deliveries that failed for good are dropped and logged. */
  deadLetterSink?: string;
  /** Interface to listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /** TCP port, where 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Overrides of {@link DEFAULT_RETRY_POLICY}. */
  retry?: Partial<RetryPolicy>;
  faults?: FaultOptions;
  /** The wait of backoff and injected delays. Tests pass one that does not sleep. */
  delay?: Delay;
  /** Longest accepted event body, in bytes. @defaultValue 1 MiB */
  maxBodyBytes?: number;
  fetch?: typeof fetch;
  logger?: Logger;
}

/** Counters since the broker started. */
export interface BrokerStats {
  /** Events accepted from publishers. */
  received: number;
  /** Events that had no subscription. */
  unrouted: number;
  /** Deliveries a subscriber accepted, injected duplicates included. */
  delivered: number;
  /** Attempts after the first, over all deliveries. */
  retries: number;
  /** Extra deliveries added by fault injection. */
  duplicated: number;
  /** Deliveries that failed for good and reached the dead-letter sink. */
  deadLettered: number;
  /** Deliveries that failed for good and were lost, because there is no sink or it failed too. */
  dropped: number;
  /** Deliveries canceled by `close`. */
  canceled: number;
}

export interface CloseOptions {
  /**
   * Time to let pending deliveries finish before canceling them, in
   * milliseconds. 0 cancels at once. @defaultValue 5000
   */
  drainTimeoutMs?: number;
}

/** A Knative-like broker on one machine, over real HTTP. */
export class EmbeddedBroker {
  private readonly subscriptions = new Map<string, Set<string>>();
  private readonly policy: RetryPolicy;
  private readonly faults: FaultInjector;
  private readonly delay: Delay;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly reorderBuffer: ReorderBuffer | undefined;
  private readonly pending = new Set<Promise<void>>();
  private deadLetterSink: string | undefined;
  private readonly counters: BrokerStats = {
    received: 0,
    unrouted: 0,
    delivered: 0,
    retries: 0,
    duplicated: 0,
    deadLettered: 0,
    dropped: 0,
    canceled: 0,
  };
  private server: Server | undefined;
  private baseUrl: string | undefined;

  constructor(private readonly options: EmbeddedBrokerOptions = {}) {
    this.deadLetterSink = options.deadLetterSink;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    if (!(Number.isInteger(this.policy.attempts) && this.policy.attempts >= 1)) {
      throw new RangeError(
        `retry.attempts ${this.policy.attempts} must be an integer of 1 or more`,
      );
    }
    this.faults = new FaultInjector(options.faults);
    this.delay = options.delay ?? realDelay;
    this.logger = options.logger ?? componentLogger('broker');
    // Every pending delivery listens to the signal while it waits, so a
    // busy broker has many listeners and no leak.
    setMaxListeners(0, this.abort.signal);
    if (this.faults.reorderWindowMs > 0) {
      this.reorderBuffer = new ReorderBuffer(
        this.faults.reorderWindowMs,
        this.faults,
        this.delay,
        this.abort.signal,
      );
    }
    for (const subscription of options.subscriptions ?? []) this.subscribe(subscription);
  }

  /** Routes events of `subscription.type` to `subscription.url` as well. */
  subscribe(subscription: Subscription): void {
    const urls = this.subscriptions.get(subscription.type) ?? new Set<string>();
    urls.add(subscription.url);
    this.subscriptions.set(subscription.type, urls);
  }

  /**
   * Sets where deliveries that failed for good go, for a sink that starts
   * after the broker, as a consumer that needs the broker's URL first does.
   */
  setDeadLetterSink(url: string): void {
    this.deadLetterSink = url;
  }

  /** Starts listening and resolves with the ingress URL that publishers post to. */
  async start(): Promise<string> {
    if (this.baseUrl) return this.baseUrl;
    const app = new Koa();
    app.use((ctx) => this.ingress(ctx));
    const server = app.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.baseUrl = `http://${host}:${address.port}/`;
    this.logger.info({ url: this.baseUrl, deadLetterSink: this.deadLetterSink }, 'broker started');
    return this.baseUrl;
  }

  /** The ingress URL, set by `start`. */
  get url(): string {
    if (!this.baseUrl) throw new Error('the broker has not started; call start() first');
    return this.baseUrl;
  }

  /** A snapshot of the counters. */
  get stats(): BrokerStats {
    return { ...this.counters };
  }

  /** Number of deliveries not finished yet, dead-letter sends included. */
  get pendingDeliveries(): number {
    return this.pending.size;
  }

  /** Resolves once no delivery is pending, including ones started while waiting. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Stops accepting events, lets pending deliveries finish for up to
   * `drainTimeoutMs`, then cancels the rest. Resolves once all have ended.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    server?.closeIdleConnections();

    const drainTimeoutMs = options.drainTimeoutMs ?? 5000;
    if (drainTimeoutMs > 0 && this.pending.size > 0) {
      const timer = new AbortController();
      await Promise.race([this.idle(), sleep(drainTimeoutMs, undefined, { signal: timer.signal })]);
      timer.abort();
    }
    const canceled = this.pending.size;
    this.abort.abort(new Error('the broker is closing'));
    await this.idle();
    await closed;
    this.logger.info({ ...this.counters, canceledAtClose: canceled }, 'broker closed');
  }

  private async ingress(ctx: Koa.Context): Promise<void> {
    if (ctx.path !== '/') {
      respondWithError(ctx, 404, `no broker at ${ctx.path}; post events to /`);
      return;
    }
    if (ctx.method !== 'POST') {
      ctx.set('Allow', 'POST');
      respondWithError(ctx, 405, `method ${ctx.method} is not allowed; POST one CloudEvent`);
      return;
    }
    try {
      const body = await readBody(ctx.req, this.options.maxBodyBytes ?? DEFAULT_MAX_EVENT_BYTES);
      const event = toCloudEvent(ctx.req.headers, body);
      this.route(event);
      ctx.body = null;
      ctx.status = 202;
    } catch (error) {
      if (error instanceof InvalidEventError || error instanceof EventTooLargeError) {
        this.logger.warn({ reason: error.reason, err: error }, 'rejected published event');
        respondWithError(ctx, error.status, error.message);
        return;
      }
      this.logger.error({ err: error }, 'accepting a published event failed');
      respondWithError(ctx, 500, 'accepting the event failed; publish it again');
    }
  }

  private route(event: CloudEvent<unknown>): void {
    this.counters.received++;
    const fields = { taskId: event.subject, 'event.type': event.type, 'event.id': event.id };
    const urls = this.subscriptions.get(event.type);
    if (!urls || urls.size === 0) {
      this.counters.unrouted++;
      this.logger.warn(fields, 'dropped event because no subscription matches its type');
      return;
    }
    this.logger.debug({ ...fields, subscribers: urls.size }, 'accepted event');

    for (const url of urls) {
      const copies = this.faults.copies();
      this.counters.duplicated += copies - 1;
      for (let copy = 0; copy < copies; copy++) this.track(this.deliver(event, url));
    }
  }

  private track(delivery: Promise<void>): void {
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  /** Runs one delivery to the end. It never rejects. */
  private async deliver(event: CloudEvent<unknown>, url: string): Promise<void> {
    const logger = this.logger.child({
      taskId: event.subject,
      'event.type': event.type,
      'event.id': event.id,
      subscriber: url,
    });
    const signal = this.abort.signal;
    try {
      const extraDelay = this.faults.extraDelayMs();
      if (extraDelay > 0) await this.delay(extraDelay, signal);
      if (this.reorderBuffer) await this.reorderBuffer.hold();

      const result = await deliverWithRetry(url, event, {
        policy: this.policy,
        delay: this.delay,
        signal,
        fetch: this.options.fetch,
        onRetry: (retry, waitMs, last) => {
          this.counters.retries++;
          logger.info({ retry, waitMs, last: describe(last) }, 'retrying delivery');
        },
      });
      if (result.delivered) {
        this.counters.delivered++;
        logger.debug({ status: result.status, attempts: result.attempts }, 'delivered event');
        return;
      }
      await this.deadLetter(event, url, result, logger);
    } catch (error) {
      if (signal.aborted) {
        this.counters.canceled++;
        logger.warn('canceled delivery because the broker is closing');
        return;
      }
      this.counters.dropped++;
      logger.error({ err: error }, 'delivery failed unexpectedly; the event is lost');
    }
  }

  private async deadLetter(
    event: CloudEvent<unknown>,
    url: string,
    result: Extract<DeliveryResult, { delivered: false }>,
    logger: Logger,
  ): Promise<void> {
    const failure = describe(result.response ?? result.error);
    const sink = this.deadLetterSink;
    if (!sink) {
      this.counters.dropped++;
      logger.error({ attempts: result.attempts, failure }, 'delivery failed; no dead-letter sink');
      return;
    }

    const data = result.response?.body ?? Buffer.from(describe(result.error), 'utf8');
    const failed = withDeliveryFailure(event, {
      destination: url,
      status: result.response?.status,
      data,
    });
    const sent = await deliverWithRetry(sink, failed, {
      policy: this.policy,
      delay: this.delay,
      signal: this.abort.signal,
      fetch: this.options.fetch,
    });
    if (sent.delivered) {
      this.counters.deadLettered++;
      logger.warn(
        { attempts: result.attempts, failure },
        'delivery failed; sent to dead-letter sink',
      );
    } else {
      this.counters.dropped++;
      logger.error(
        {
          attempts: result.attempts,
          failure,
          sink,
          sinkFailure: describe(sent.response ?? sent.error),
        },
        'delivery failed and the dead-letter sink rejected the event; it is lost',
      );
    }
  }
}

/** Describes the last response or error in a short text, for logs and dead letters. */
function describe(last: unknown): string {
  if (last && typeof last === 'object' && 'status' in last && 'body' in last) {
    const response = last as { status: number; body: Buffer };
    return `status ${response.status}: ${response.body.toString('utf8').slice(0, 200)}`;
  }
  if (last instanceof Error) {
    const cause = last.cause instanceof Error ? ` (${last.cause.message})` : '';
    return `${last.name}: ${last.message}${cause}`;
  }
  return String(last);
}

function respondWithError(ctx: Koa.Context, status: number, message: string): void {
  ctx.status = status;
  ctx.body = errorBody(status, message);
}
