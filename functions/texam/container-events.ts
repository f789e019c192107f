/**
 * The embedded home's source of container lifecycle events: it watches the
 * runtime and publishes each executor exit as `executor.exited`, as an
 * ApiServerSource on Pods does in Knative.
 */
import { buildEvent } from '../lib/events/catalogue.js';
import type { EventPublisher } from '../lib/events/publisher.js';
import type { Logger } from '../lib/logging.js';
import type { ContainerEvent, ContainerWatch, Runtime } from '../lib/runtime/runtime.js';
import { exitOf } from './monitor.js';

export function publishContainerEvents(
  runtime: Runtime,
  publisher: EventPublisher,
  logger: Logger,
): ContainerWatch {
  return runtime.watch(
    async (event: ContainerEvent) => {
      const { taskId, executorIndex } = event.container;
      if (event.type === 'exited') {
        const exit = exitOf(event.container);
        const data = {
          index: exit.index,
          exitCode: exit.exitCode,
          ...(exit.startTime ? { startTime: exit.startTime } : {}),
          ...(exit.endTime ? { endTime: exit.endTime } : {}),
          ...(exit.reason ? { reason: exit.reason } : {}),
        };
        await publisher.publish(
          buildEvent('executor.exited', taskId, data, { step: executorIndex }),
        );
      } else if (event.type === 'deleted') {
        // The task's own teardown removes containers too; TOrc ignores this for finished tasks.
        const message = `the container of executor ${executorIndex} disappeared before it exited`;
        await publisher.publish(
          buildEvent(
            'task.failed',
            taskId,
            { state: 'SYSTEM_ERROR', reason: 'ExecutorContainerLost', message },
            { producer: 'runtime' },
          ),
        );
      }
    },
    { onError: (error) => logger.warn({ err: error }, 'watching containers failed; retrying') },
  );
}
