/**
 * Mount planning: the container paths of a task's volume that each executor mounts.
 *
 * Every executor of a task mounts the same set, so files that one executor
 * writes are there for the next one and for the output filer. The set comes
 * from the task:
 * - each of `volumes`, and the path of each DIRECTORY input or output;
 * - the parent directory of each FILE input or output;
 * - for an output with wildcards, its leading directories before the
 *   first pattern character (`/data/out/*.txt` mounts `/data/out`).
 *
 * A path inside another mounted directory needs no mount of its own, so
 * nested paths collapse into the outermost directory.
 *
 * A parent directory that only follows from a file's path is never mounted
 * when doing so would hide files of the image in a way the task did not ask
 * for: `/`, the system trees (`/bin`, `/etc`, `/usr`, `/var` and the other
 * entries of {@link SYSTEM_TREES}, at any depth) and the top-level
 * `/home`, `/opt`, `/root` and `/srv`. An input `/etc/app.conf` or
 * `/data.txt` therefore mounts that one file. A directory the task names
 * itself, as a volume or a DIRECTORY input or output, is mounted as named.
 *
 * Some paths cannot be mounted at all and are reported by
 * {@link planMounts}: `/` as a directory, anything under `/proc`, `/sys`
 * and `/dev` (the engine provides those), anything under `/.poiesis` (the
 * runtime's own files), and a wildcard output whose leading directory is
 * one of the protected ones above.
 */
import { ancestorsOf, fixedDirectoryOf, hasWildcard } from '../tes/paths.js';
import type { RuntimeTask } from './runtime.js';
import { MountPlanError } from './errors.js';
import { normalizeContainerPath } from './layout.js';

/** One path of the task volume that executors mount. */
export interface PlannedMount {
  /** Normalized absolute container path, which is also the path in the volume. */
  path: string;
  /** DIRECTORY mounts a directory; FILE mounts that single file. */
  type: 'FILE' | 'DIRECTORY';
}

/** The mounts of a task's executors and the directories to create in the volume beforehand. */
export interface MountPlan {
  /** Sorted by path; none lies inside another. */
  mounts: PlannedMount[];
  /**
   * Every directory the task names or implies, sorted: volumes, DIRECTORY
   * inputs and outputs, the parent directories of files (except those
   * mounted alone) and the leading directories of wildcards. Creating them before the first executor lets
   * a command write `/data/out/x` without creating `/data/out` itself,
   * also when `/data/out` lies inside the mounted `/data`.
   */
  directories: string[];
}

/** Container directory where the runtime mounts its helper binary and the executor's log directory. */
export const RESERVED_DIRECTORY = '/.poiesis';

/** Trees whose files belong to the image's system: a derived mount never covers them. */
export const SYSTEM_TREES: readonly string[] = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var',
];

/** Top-level directories that often contain installed software or home directories. */
const SYSTEM_TOP_LEVEL: ReadonlySet<string> = new Set(['/', '/home', '/opt', '/root', '/srv']);

/** Trees the engine itself provides; a mount there would break the container. */
const KERNEL_TREES: readonly string[] = ['/proc', '/sys', '/dev'];

/** Returns whether `child` is `parent` or lies below it; both must be normalized. */
export function isWithin(child: string, parent: string): boolean {
  if (parent === '/') return true;
  return child === parent || child.startsWith(`${parent}/`);
}

function hidesImageFiles(directory: string): boolean {
  return SYSTEM_TOP_LEVEL.has(directory) || SYSTEM_TREES.some((tree) => isWithin(directory, tree));
}

/** A path the task needs mounted, before collapsing. */
interface Candidate extends PlannedMount {
  /** Field of the task it comes from, such as `inputs[2].path`, for problem messages. */
  field: string;
}

/**
 * Computes the mounts of a task's executors and the directories to create.
 *
 * @throws MountPlanError listing every path of the task that cannot be mounted.
 */
export function planMounts(task: Pick<RuntimeTask, 'inputs' | 'outputs' | 'volumes'>): MountPlan {
  const problems: string[] = [];
  const candidates: Candidate[] = [];
  const add = (field: string, plan: () => Omit<Candidate, 'field'>) => {
    try {
      const candidate = { field, ...plan() };
      const problem = forbiddenMountProblem(candidate);
      if (problem) problems.push(`${field}: ${problem}`);
      else candidates.push(candidate);
    } catch (error) {
      if (!(error instanceof MountPlanError)) throw error;
      problems.push(...error.problems.map((problem) => `${field}: ${problem}`));
    }
  };

  (task.volumes ?? []).forEach((volume, i) => {
    add(`volumes[${i}]`, () => ({ path: normalizeContainerPath(volume), type: 'DIRECTORY' }));
  });
  (task.inputs ?? []).forEach((input, i) => {
    add(`inputs[${i}].path`, () => plainPathMount(input.path, input.type ?? 'FILE'));
  });
  (task.outputs ?? []).forEach((output, i) => {
    add(`outputs[${i}].path`, () =>
      hasWildcard(output.path)
        ? wildcardMount(output.path)
        : plainPathMount(output.path, output.type ?? 'FILE'),
    );
  });

  if (problems.length > 0) throw new MountPlanError(problems);
  return { mounts: collapse(candidates), directories: directoriesOf(candidates) };
}

/** Returns the mount of an input or output without wildcards. */
function plainPathMount(rawPath: string, type: 'FILE' | 'DIRECTORY'): PlannedMount {
  const normalized = normalizeContainerPath(rawPath);
  if (type === 'DIRECTORY') return { path: normalized, type: 'DIRECTORY' };
  const parent = fixedDirectoryOf(normalized);
  return hidesImageFiles(parent)
    ? { path: normalized, type: 'FILE' }
    : { path: parent, type: 'DIRECTORY' };
}

/** Returns the mount of an output with wildcards, which is its leading fixed directories. */
function wildcardMount(rawPath: string): PlannedMount {
  const directory = fixedDirectoryOf(normalizeContainerPath(rawPath));
  if (hidesImageFiles(directory)) {
    throw new MountPlanError([
      `the wildcard needs its leading directory ${directory} mounted, which would hide files of the image; ` +
        'write wildcard outputs into a directory of their own, such as /outputs',
    ]);
  }
  return { path: directory, type: 'DIRECTORY' };
}

function forbiddenMountProblem(mount: PlannedMount): string | undefined {
  if (mount.path === '/') {
    return 'mounting / would hide the whole image; use a directory such as /data';
  }
  const kernelTree = KERNEL_TREES.find((tree) => isWithin(mount.path, tree));
  if (kernelTree !== undefined) {
    return `${mount.path} is inside ${kernelTree}, which the container engine provides; use a directory such as /data`;
  }
  if (isWithin(mount.path, RESERVED_DIRECTORY)) {
    return `${mount.path} is inside ${RESERVED_DIRECTORY}, which Poiesis reserves for its own files`;
  }
  return undefined;
}

function directoriesOf(candidates: readonly Candidate[]): string[] {
  const directories = candidates
    .filter((candidate) => candidate.type === 'DIRECTORY')
    .map((candidate) => candidate.path);
  return [...new Set(directories)].sort();
}

/**
 * Drops every mount inside a directory mount. At equal paths a directory
 * wins over a file, since the file is then inside the mounted directory.
 */
function collapse(candidates: readonly Candidate[]): PlannedMount[] {
  const directories = new Set(
    candidates.filter((candidate) => candidate.type === 'DIRECTORY').map(({ path }) => path),
  );
  const kept = new Map<string, PlannedMount>();
  for (const candidate of candidates) {
    const covered =
      ancestorsOf(candidate.path).some((ancestor) => directories.has(ancestor)) ||
      (candidate.type === 'FILE' && directories.has(candidate.path));
    if (!covered) kept.set(candidate.path, { path: candidate.path, type: candidate.type });
  }
  return [...kept.values()].sort(byPath);
}

function byPath(a: PlannedMount, b: PlannedMount): number {
  if (a.path === b.path) return 0;
  return a.path < b.path ? -1 : 1;
}
