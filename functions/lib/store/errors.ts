/**
 * Errors raised by task stores, beyond the shared ones in `../errors.ts`.
 */
import { PoiesisError } from '../errors.js';

/** A task created with an id that is already stored. */
export class TaskExistsError extends PoiesisError {
  readonly status = 409;
  readonly reason = 'AlreadyExists';

  constructor(
    readonly taskId: string,
    options?: ErrorOptions,
  ) {
    super(`task ${taskId} already exists; create it with a new id`, options);
  }
}

/**
 * A database whose schema is newer than this version of Poiesis supports, for
 * example after a downgrade. Opening it anyway could lose data.
 */
export class UnsupportedSchemaError extends PoiesisError {
  readonly status = 500;
  readonly reason = 'UnsupportedSchemaVersion';

  constructor(
    readonly location: string,
    readonly version: number,
    readonly supportedVersion: number,
  ) {
    super(
      `task database ${location} has schema version ${version}, but this Poiesis supports ` +
        `versions up to ${supportedVersion}; upgrade Poiesis or use another data directory`,
    );
  }
}
