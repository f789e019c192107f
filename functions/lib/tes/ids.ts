/**
 * Task ids: lowercase ULIDs (26 characters of Crockford base32). They are
 * valid Kubernetes names and label values, and sort by creation time
 * because the first ten characters encode the millisecond; ids made in the
 * same millisecond by one process still increase.
 */
import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/** Random bytes fetched at once, because one call per ULID character costs measurable CPU. */
const POOL_BYTES = 4096;
let pool = randomBytes(POOL_BYTES);
let used = 0;

/** A cryptographic random number in [0, 1) with 8 bits of resolution, enough for base32. */
function pooledRandom(): number {
  if (used === POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  return pool[used++]! / 256;
}

const nextUlid = monotonicFactory(pooledRandom);

export function newTaskId(now: number = Date.now()): string {
  return nextUlid(now).toLowerCase();
}

/** Whether a string has the shape of a task id; anything else cannot name a stored task. */
export function isTaskId(value: string): boolean {
  return /^[0-9a-hjkmnp-tv-z]{26}$/.test(value);
}
