/**
 * Errors of the Runtime adapter. The handlers turn each into a task state
 * by its class or `reason`: an image that cannot be pulled or a container
 * that cannot start is a SYSTEM_ERROR of the task, while an engine failure
 * is transient and worth retrying.
 */
import { PoiesisError } from '../errors.js';

/** The executor's image is neither present nor pullable. */
export class ImagePullError extends PoiesisError {
  readonly status = 500;
  readonly reason = 'ImagePullFailed';

  constructor(
    readonly image: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(
      `image ${image} could not be pulled: ${detail}; check the image name and that its registry is reachable`,
      options,
    );
  }
}

/** The executor's image is not a name any registry could serve, such as one starting with `-`. */
export class InvalidImageNameError extends PoiesisError {
  readonly status = 500;
  readonly reason = 'InvalidImageName';

  constructor(readonly image: string) {
    super(
      `image name "${image}" is invalid; use a reference such as docker.io/library/alpine:3.20`,
    );
  }
}

/** The engine refused to create or start the executor's container. */
export class ContainerStartError extends PoiesisError {
  readonly status = 500;
  readonly reason = 'ContainerCannotRun';

  constructor(
    readonly containerName: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`container ${containerName} could not be started: ${detail}`, options);
  }
}

/**
 * A start for a task whose resources were removed, which arrives late from a
 * delayed or duplicated event. Nothing of a removed task starts again.
 */
export class TaskRemovedError extends PoiesisError {
  readonly status = 409;
  readonly reason = 'TaskRemoved';

  constructor(readonly taskId: string) {
    super(`task ${taskId} was removed; nothing of it starts again`);
  }
}

/**
 * A container engine command failed or timed out. Usually transient, such
 * as a busy or restarting engine, so the caller may retry.
 */
export class ContainerEngineError extends PoiesisError {
  readonly status = 503;
  readonly reason = 'ContainerEngineFailed';

  constructor(
    /** The engine and its first arguments, such as `podman inspect`. */
    readonly command: string,
    /** Exit code of the engine process; undefined when it was killed or never ran. */
    readonly exitCode: number | undefined,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${command} failed: ${detail}`, options);
  }
}

/** Neither podman nor docker is on PATH, or the configured engine binary does not exist. */
export class ContainerEngineNotFoundError extends PoiesisError {
  readonly status = 503;
  readonly reason = 'ContainerEngineNotFound';

  constructor(readonly candidates: readonly string[]) {
    super(
      `no container engine found: tried ${candidates.join(', ')}; install podman or docker, or configure the engine binary`,
    );
  }
}

/**
 * Container paths of a task that cannot be mounted, such as an output
 * wildcard directly under `/`. Every problem is listed at once, each as
 * `field.path: rule`.
 */
export class MountPlanError extends PoiesisError {
  readonly status = 400;
  readonly reason = 'UnsupportedPath';

  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}
