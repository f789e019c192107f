/**
 * The host directory of a task in the embedded home, under the tasks
 * directory the caller configures (`<dataDir>/tasks`):
 *
 * ```
 * <tasksDir>/<taskId>/
 *   fs/<container path>        the task volume: container paths mirrored
 *   executors/<index>/stdout   everything executor <index> wrote to stdout
 *   executors/<index>/stderr   the same for stderr
 *   executors/<index>/...      exit code, reason and pipes of the helper
 * ```
 *
 * The filers read and write container paths through {@link TaskLayout.hostPath},
 * so they need not know which directories the executors mount.
 */
import path from 'node:path';
import { containerPathProblem } from '../tes/paths.js';
import { MountPlanError } from './errors.js';
import { HELPER_FILES } from './helper.js';

/** Task ids become directory and container names, so only these characters pass. */
const SAFE_TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Returns the canonical form of a container path: `.` segments, repeated
 * slashes and a trailing slash removed.
 *
 * @throws MountPlanError when the path is relative, contains `..` or a NUL.
 */
export function normalizeContainerPath(containerPath: string): string {
  const problem = containerPathProblem(containerPath);
  if (problem) throw new MountPlanError([`path: ${problem}`]);
  const normalized = path.posix.normalize(containerPath);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/** The directories and files of one task on the host. */
export class TaskLayout {
  /** `<tasksDir>/<taskId>`: everything of the task. */
  readonly root: string;
  /** The task volume; container path `/a/b` lives at `<fsRoot>/a/b`. */
  readonly fsRoot: string;

  /**
   * @param tasksDir directory that contains one directory per task
   * @throws RangeError when the task id could escape its directory or name no container
   */
  constructor(
    readonly tasksDir: string,
    readonly taskId: string,
  ) {
    if (!SAFE_TASK_ID.test(taskId)) {
      throw new RangeError(
        `task id "${taskId}" is not usable as a directory name; use letters, digits, _ . or -`,
      );
    }
    this.root = path.join(path.resolve(tasksDir), taskId);
    this.fsRoot = path.join(this.root, 'fs');
  }

  /**
   * Maps a container path to the host path where the task volume keeps it.
   *
   * @throws MountPlanError when the path is not an absolute container path.
   */
  hostPath(containerPath: string): string {
    const normalized = normalizeContainerPath(containerPath);
    return normalized === '/' ? this.fsRoot : path.join(this.fsRoot, normalized);
  }

  /** Directory of executor `index`'s logs and helper files. */
  executorDir(index: number): string {
    if (!Number.isInteger(index) || index < 0) {
      throw new RangeError(`executor index ${index} is not a non-negative integer`);
    }
    return path.join(this.root, 'executors', String(index));
  }

  /** Host file with everything executor `index` wrote to stdout. */
  stdoutFile(index: number): string {
    return path.join(this.executorDir(index), HELPER_FILES.stdout);
  }

  /** Host file with everything executor `index` wrote to stderr. */
  stderrFile(index: number): string {
    return path.join(this.executorDir(index), HELPER_FILES.stderr);
  }

  /** Host file in which the helper records a reason such as `OOMKilled`. */
  reasonFile(index: number): string {
    return path.join(this.executorDir(index), HELPER_FILES.reason);
  }
}

/**
 * Maps a task's container path to its host path under `tasksDir`. Shorthand
 * for `new TaskLayout(tasksDir, taskId).hostPath(containerPath)`.
 */
export function containerToHostPath(
  tasksDir: string,
  taskId: string,
  containerPath: string,
): string {
  return new TaskLayout(tasksDir, taskId).hostPath(containerPath);
}
