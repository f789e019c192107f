/**
 * The task state machine: every allowed transition is listed here and
 * nowhere else.
 *
 * Poiesis never enters UNKNOWN, PAUSED or PREEMPTED. They exist in the TES
 * enum, so they are known states without transitions.
 */
import type { TesState } from './schemas.js';
import { InvalidTransitionError } from '../errors.js';

const FAILURES: readonly TesState[] = ['SYSTEM_ERROR', 'CANCELING', 'CANCELED'];

const TRANSITIONS: Readonly<Record<TesState, readonly TesState[]>> = {
  QUEUED: ['INITIALIZING', ...FAILURES],
  INITIALIZING: ['RUNNING', ...FAILURES],
  RUNNING: ['COMPLETE', 'EXECUTOR_ERROR', ...FAILURES],
  CANCELING: ['CANCELED', 'SYSTEM_ERROR'],
  COMPLETE: [],
  EXECUTOR_ERROR: [],
  SYSTEM_ERROR: [],
  CANCELED: [],
  UNKNOWN: [],
  PAUSED: [],
  PREEMPTED: [],
};

const TERMINAL: ReadonlySet<TesState> = new Set([
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'PREEMPTED',
]);

/** States from which a cancel request moves the task to CANCELING. */
export const CANCELABLE: ReadonlySet<TesState> = new Set(['QUEUED', 'INITIALIZING', 'RUNNING']);

/** States a task passes through before it ends: the ones the reconcile loop watches. */
export const ACTIVE_STATES: readonly TesState[] = [
  'QUEUED',
  'INITIALIZING',
  'RUNNING',
  'CANCELING',
];

export function isTerminal(state: TesState): boolean {
  return TERMINAL.has(state);
}

export function canTransition(from: TesState, to: TesState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws {@link InvalidTransitionError} unless the state machine allows `from` → `to`. */
export function assertTransition(taskId: string, from: TesState, to: TesState): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(taskId, from, to);
}
