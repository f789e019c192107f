/**
 * TExAM as a Koa app: `inputs.staged` and `executor.exited` arrive at `/`.
 */
import type Koa from 'koa';
import { eventReceiver } from '../lib/events/receiver.js';
import { eventApp } from '../lib/flow/event-app.js';
import type { ExecutorMonitor } from './monitor.js';

export function createTexamApp(monitor: ExecutorMonitor): Koa {
  return eventApp({
    '/': eventReceiver({
      handlers: {
        'inputs.staged': (event) => monitor.onInputsStaged(event.subject),
        'executor.exited': (event) => monitor.onExecutorExited(event.subject, event.data),
      },
    }),
  });
}
