/**
 * TIF, the task input filer, as a Koa app. On `task.initialized` it starts
 * the input filer next to the task volume, which sends `inputs.staged` when
 * done; a task without inputs gets `inputs.staged` at once.
 */
import type Koa from 'koa';
import { buildEvent } from '../lib/events/catalogue.js';
import { eventReceiver } from '../lib/events/receiver.js';
import { eventApp } from '../lib/flow/event-app.js';
import type { FilerLauncher } from '../lib/filers/filer-jobs.js';
import { requireTask, type FlowContext } from '../lib/flow/context.js';

export interface TifOptions extends FlowContext {
  filers: FilerLauncher;
}

export async function onTaskInitialized(options: TifOptions, taskId: string): Promise<void> {
  const task = await requireTask(options.store, taskId);
  if (task.state !== 'INITIALIZING') return;
  if (!task.inputs?.length) {
    await options.publisher.publish(buildEvent('inputs.staged', taskId, {}, { producer: 'tif' }));
    return;
  }
  options.filers.start('inputs', task);
}

export function createTifApp(options: TifOptions): Koa {
  return eventApp({
    '/': eventReceiver({
      handlers: { 'task.initialized': (event) => onTaskInitialized(options, event.subject) },
    }),
  });
}
