/**
 * An EventPublisher that keeps every event it is given instead of sending
 * it, so a test reads what a service published and decides when, and
 * whether, to deliver it to the next service.
 */
import type { CloudEventV1 } from 'cloudevents';
import type { EventType, PoiesisEvent } from '../../functions/lib/events/catalogue.js';
import type { EventPublisher } from '../../functions/lib/events/publisher.js';

export class RecordingPublisher implements EventPublisher {
  readonly events: Array<PoiesisEvent> = [];
  /** Error every publish throws, while set, as a broker that is down. */
  failure: Error | undefined;

  publish(event: CloudEventV1<unknown>): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.events.push(event as PoiesisEvent);
    return Promise.resolve();
  }

  /** Returns the published events of `type`, optionally about one task only. */
  ofType<T extends EventType>(type: T, taskId?: string): Array<PoiesisEvent<T>> {
    return this.events.filter(
      (event): event is PoiesisEvent<T> =>
        event.type === type && (taskId === undefined || event.subject === taskId),
    );
  }

  /** Returns the types of the events published about `taskId`, in order. */
  typesFor(taskId: string): EventType[] {
    return this.events.filter((event) => event.subject === taskId).map((event) => event.type);
  }
}
