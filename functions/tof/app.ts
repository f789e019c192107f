/**
 * TOF, the task output filer, as a Koa app. On `executors.done` it starts
 * the output filer, which sends `outputs.filed` with the output log when
 * done; a task without outputs gets `outputs.filed` at once.
 */
import type Koa from 'koa';
import { buildEvent } from '../lib/events/catalogue.js';
import { eventReceiver } from '../lib/events/receiver.js';
import { eventApp } from '../lib/flow/event-app.js';
import type { FilerLauncher } from '../lib/filers/filer-jobs.js';
import { requireTask, type FlowContext } from '../lib/flow/context.js';

export interface TofOptions extends FlowContext {
  filers: FilerLauncher;
}

export async function onExecutorsDone(options: TofOptions, taskId: string): Promise<void> {
  const task = await requireTask(options.store, taskId);
  if (task.state !== 'RUNNING') return;
  if (!task.outputs?.length) {
    await options.publisher.publish(buildEvent('outputs.filed', taskId, { outputs: [] }));
    return;
  }
  options.filers.start('outputs', task);
}

export function createTofApp(options: TofOptions): Koa {
  return eventApp({
    '/': eventReceiver({
      handlers: { 'executors.done': (event) => onExecutorsDone(options, event.subject) },
    }),
  });
}
