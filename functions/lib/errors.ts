/**
 * Errors that decide outcomes. Each carries an HTTP status, which the Koa
 * boundary maps to the response, and a PascalCase `reason` that code can
 * branch on instead of the message text.
 */
import type { TesState } from './tes/schemas.js';

export abstract class PoiesisError extends Error {
  abstract readonly status: number;
  abstract readonly reason: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request that breaks one or more rules; every problem is listed at once. */
export class ValidationError extends PoiesisError {
  readonly status = 400;
  readonly reason = 'Invalid';

  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

/** A client request that cannot be understood, other than a task that fails validation. */
export class BadRequestError extends PoiesisError {
  readonly reason = 'BadRequest';

  constructor(
    message: string,
    readonly status: 400 | 411 | 413 | 415 = 400,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class TaskNotFoundError extends PoiesisError {
  readonly status = 404;
  readonly reason = 'NotFound';

  constructor(readonly taskId: string) {
    super(`task ${taskId} not found`);
  }
}

/** A move the task state machine forbids, such as COMPLETE → RUNNING. */
export class InvalidTransitionError extends PoiesisError {
  readonly status = 409;
  readonly reason = 'InvalidTransition';

  constructor(
    readonly taskId: string,
    readonly from: TesState,
    readonly to: TesState,
  ) {
    super(`task ${taskId} cannot move from ${from} to ${to}`);
  }
}

/**
 * A compare-and-set that lost: the task was not in any of the expected
 * states when the change was attempted.
 */
export class StateConflictError extends PoiesisError {
  readonly status = 409;
  readonly reason = 'StateConflict';

  constructor(
    readonly taskId: string,
    readonly actual: TesState,
    readonly expected: readonly TesState[],
  ) {
    super(`task ${taskId} is ${actual}, expected ${expected.join(' or ')}`);
  }
}

/** A cancel request for a task that has already finished. */
export class TaskFinishedError extends PoiesisError {
  readonly status = 409;
  readonly reason = 'TaskFinished';

  constructor(
    readonly taskId: string,
    readonly state: TesState,
  ) {
    super(`task ${taskId} is already ${state} and can no longer be canceled`);
  }
}

/** Invalid configuration found at start-up. */
export class ConfigError extends PoiesisError {
  readonly status = 500;
  readonly reason = 'InvalidConfig';

  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}
