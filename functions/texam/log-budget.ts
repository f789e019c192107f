/**
 * The budget of stdout and stderr that all executor logs of one task keep
 * together. Each executor keeps a bounded tail of each stream, but a task
 * may have many executors, and the whole log is rewritten on each change.
 */
import type { Task } from '../lib/tes/schemas.js';

/** Characters of stdout and stderr that the executor logs of one task keep at most. */
export const MAX_TASK_LOG_CHARACTERS = 8 * 1024 * 1024;

/** The tails of one executor as they are stored. */
export interface FittedTails {
  stdout: string;
  stderr: string;
  /** Whether the tails were shortened to fit the budget. */
  shortened: boolean;
}

/**
 * Returns the tails of executor `index` shortened, from the start, so that
 * the task's executor logs keep at most {@link MAX_TASK_LOG_CHARACTERS}
 * characters. Each stream gets half of what the other executors left.
 */
export function fitTails(
  task: Task,
  index: number,
  tails: { stdout: string; stderr: string },
): FittedTails {
  const others = (task.logs?.at(-1)?.logs ?? []).reduce(
    (sum, log, i) =>
      i === index ? sum : sum + (log.stdout?.length ?? 0) + (log.stderr?.length ?? 0),
    0,
  );
  const perStream = Math.max(0, Math.floor((MAX_TASK_LOG_CHARACTERS - others) / 2));
  const stdout = lastCharacters(tails.stdout, perStream);
  const stderr = lastCharacters(tails.stderr, perStream);
  return {
    stdout,
    stderr,
    shortened: stdout.length < tails.stdout.length || stderr.length < tails.stderr.length,
  };
}

function lastCharacters(text: string, count: number): string {
  return text.length > count ? text.slice(text.length - count) : text;
}
