/**
 * TOrc as a Koa app. Events arrive at `/`; deliveries that failed for good
 * arrive at `/dead-letter` (the Broker's dead-letter sink) and end their
 * task in SYSTEM_ERROR.
 */
import type Koa from 'koa';
import { ALL_TASKS_SUBJECT, type AnyPoiesisEvent } from '../lib/events/catalogue.js';
import { readDeliveryFailure, type DeliveryFailure } from '../lib/events/dead-letter.js';
import { eventReceiver } from '../lib/events/receiver.js';
import { eventApp } from '../lib/flow/event-app.js';
import type { Orchestrator } from './orchestrator.js';
import type { Reconciler } from './reconciler.js';

export interface TorcAppOptions {
  orchestrator: Orchestrator;
  reconciler: Reconciler;
}

export function createTorcApp({ orchestrator, reconciler }: TorcAppOptions): Koa {
  return eventApp({
    '/': eventReceiver({
      handlers: {
        'task.created': (event) => orchestrator.startTask(event.subject),
        'outputs.filed': (event) =>
          orchestrator.completeTask(event.subject, event.data.outputs, event.data.omitted),
        'task.failed': (event) => orchestrator.fail(event.subject, event.data),
        'cancel.requested': (event) => orchestrator.cancelTask(event.subject),
        'reconcile.requested': () => {
          // The pass runs in the background: it may take longer than a delivery may.
          void reconciler.reconcile();
        },
      },
    }),
    '/dead-letter': eventReceiver({
      handlers: {},
      fallback: (event) => deadLetter(orchestrator, event),
    }),
  });
}

async function deadLetter(orchestrator: Orchestrator, event: AnyPoiesisEvent): Promise<void> {
  if (event.subject === ALL_TASKS_SUBJECT) return;
  const failure = readDeliveryFailure(event);
  const destination = failure ? ` to ${failure.destination}` : '';
  const cause = failure ? causeOf(failure) : '';
  await orchestrator.fail(event.subject, {
    state: 'SYSTEM_ERROR',
    reason: 'EventDeliveryFailed',
    message: `event ${event.type} could not be delivered${destination}${cause}`,
  });
}

/** Describes the last delivery attempt, such as ` (last status 503: busy)`, or returns ''. */
function causeOf(failure: DeliveryFailure): string {
  const data = failure.data ? failure.data.toString('utf8').slice(0, 300) : '';
  if (failure.status !== undefined) {
    return ` (last status ${failure.status}${data ? `: ${data}` : ''})`;
  }
  // No response arrived, so the data is the network error, such as a refused connection.
  return data ? ` (${data})` : '';
}
