/**
 * The API's events as CloudEvents sent to the broker.
 */
import { buildEvent } from '../lib/events/catalogue.js';
import type { EventPublisher } from '../lib/events/publisher.js';
import type { Logger } from '../lib/logging.js';
import type { TaskEventSink } from './task-service.js';

export class PublishingEventSink implements TaskEventSink {
  constructor(private readonly publisher: EventPublisher) {}

  taskCreated(taskId: string): Promise<void> {
    return this.publisher.publish(buildEvent('task.created', taskId, {}));
  }

  cancelRequested(taskId: string): Promise<void> {
    return this.publisher.publish(buildEvent('cancel.requested', taskId, {}));
  }
}

/**
 * The sink of an API started without a broker: nothing consumes its events,
 * so tasks stay QUEUED. Each event is logged at debug level.
 */
export class UnroutedEventSink implements TaskEventSink {
  constructor(private readonly logger: Logger) {}

  taskCreated(taskId: string): Promise<void> {
    this.logger.debug(
      { taskId, 'event.type': 'task.created' },
      'no broker configured; event dropped',
    );
    return Promise.resolve();
  }

  cancelRequested(taskId: string): Promise<void> {
    this.logger.debug(
      { taskId, 'event.type': 'cancel.requested' },
      'no broker configured; event dropped',
    );
    return Promise.resolve();
  }
}
