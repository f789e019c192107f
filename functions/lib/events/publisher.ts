/**
 * Publishing events to a broker: the Knative Broker's ingress in
 * production, the embedded broker on one machine.
 *
 * The SDK's stock HTTP emitter resolves even when the broker responds with
 * an error status, so this POSTs the event itself and checks the status.
 */
import type { CloudEventV1 } from 'cloudevents';
import { componentLogger, type Logger } from '../logging.js';
import { PublishError } from './errors.js';
import { isTimeout, postEvent } from './http-binding.js';

/** Sends events to whatever routes them to their consumers. */
export interface EventPublisher {
  /**
   * Publishes one event. Resolves once the broker accepted it (2xx).
   *
   * @throws PublishError otherwise.
   */
  publish(event: CloudEventV1<unknown>): Promise<void>;
}

export interface HttpEventPublisherOptions {
  /** The broker's ingress URL. */
  brokerUrl: string | URL;
  /** Time limit of one publish, in milliseconds. @defaultValue 10000 */
  timeoutMs?: number;
  fetch?: typeof fetch;
  logger?: Logger;
}

/** Publishes events to a broker over HTTP, in binary content mode. */
export class HttpEventPublisher implements EventPublisher {
  private readonly brokerUrl: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch | undefined;
  private readonly logger: Logger;

  constructor(options: HttpEventPublisherOptions) {
    this.brokerUrl = String(options.brokerUrl);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetch = options.fetch;
    this.logger = options.logger ?? componentLogger('events');
  }

  async publish(event: CloudEventV1<unknown>): Promise<void> {
    const fields = { taskId: event.subject, 'event.type': event.type, 'event.id': event.id };
    let status: number;
    let body: Buffer;
    try {
      ({ status, body } = await postEvent(this.brokerUrl, event, {
        timeoutMs: this.timeoutMs,
        fetch: this.fetch,
      }));
    } catch (error) {
      const timedOut = isTimeout(error);
      const failure = timedOut
        ? `timed out after ${this.timeoutMs} ms`
        : `failed: ${error instanceof Error ? error.message : String(error)}`;
      throw new PublishError(
        `publishing event ${event.id} to ${this.brokerUrl} ${failure}; check that the broker is running`,
        undefined,
        { cause: error, timedOut },
      );
    }

    if (status < 200 || status > 299) {
      const detail = body.toString('utf8').slice(0, 500);
      throw new PublishError(
        `broker ${this.brokerUrl} rejected event ${event.id} with status ${status}: ${detail}`,
        status,
      );
    }
    this.logger.debug({ ...fields, status }, 'published event');
  }
}
