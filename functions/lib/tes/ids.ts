/**
 * Task ids: lowercase ULIDs (26 characters of Crockford base32). They are
 * valid Kubernetes names and label values, and sort by creation time
 * because the first ten characters encode the millisecond; ids made in the
 * same millisecond by one process still increase.
 */
import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

export function newTaskId(now: number = Date.now()): string {
  return nextUlid(now).toLowerCase();
}

/** Whether a string has the shape of a task id; anything else cannot name a stored task. */
export function isTaskId(value: string): boolean {
  return /^[0-9a-hjkmnp-tv-z]{26}$/.test(value);
}
