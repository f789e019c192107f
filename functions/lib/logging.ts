/**
 * The one logger of Poiesis. Components take a child logger with a fixed
 * `component` field; task-related lines carry `taskId`, event lines
 * `event.type` and `event.id`.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

// Logs go to standard error, so standard output carries only what commands print for people.
let root: Logger = pino({ level: process.env.POIESIS_LOG_LEVEL ?? 'info' }, pino.destination(2));

/** Replaces the root logger, for example with the configured level or a silent one in tests. */
export function configureLogging(level: LevelWithSilent, destination?: pino.DestinationStream) {
  root = pino({ level }, destination ?? pino.destination(2));
}

/** Returns a child logger for one component, such as `api` or `torc`. */
export function componentLogger(component: string): Logger {
  return root.child({ component });
}
