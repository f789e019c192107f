/**
 * The arguments of the `run` call that starts one executor: name and
 * labels, the helper as entrypoint, bind mounts, environment, resource
 * limits and the helper's own arguments.
 */
import type { TesExecutor, TesResources } from '../tes/schemas.js';
import { InvalidImageNameError, MountPlanError } from './errors.js';
import { helperArguments } from './helper.js';
import { RESERVED_DIRECTORY, type PlannedMount } from './mounts.js';

/** Container path of the helper binary. */
export const HELPER_BINARY_PATH = `${RESERVED_DIRECTORY}/bin/busybox`;
/** Container path of the executor's log directory. */
export const HELPER_LOG_PATH = `${RESERVED_DIRECTORY}/log`;

/** Characters that would break the comma-separated `--mount` value. */
export const UNMOUNTABLE = /[,"\n\r]/;

/** Bytes per GiB, the unit `ram_gb` is converted with. */
const GIB = 1024 ** 3;

/** A host path bound into the container. */
export interface Bind {
  source: string;
  target: string;
  readonly?: boolean;
}

/** Everything one `run` call needs. */
export interface RunSpec {
  name: string;
  labels: Readonly<Record<string, string>>;
  executor: TesExecutor;
  /** Host path of the static busybox, bound read-only as the entrypoint. */
  helperBinary: string;
  /** Host directory for the executor's log files, bound writable. */
  logDirectory: string;
  /** The task's mounts with the host path of each. */
  mounts: ReadonlyArray<PlannedMount & { source: string }>;
  /** `--env-file` or `--env` arguments. */
  envArguments: readonly string[];
  /** Resource arguments from {@link resourceArguments}. */
  resourceArguments: readonly string[];
  /** Extra arguments of every `run`, placed before the image. */
  extraArguments: readonly string[];
}

/**
 * Returns the argv of `run --detach` after the engine binary.
 *
 * @throws InvalidImageNameError when the image would be read as an option or split.
 * @throws MountPlanError when a mount target cannot be written in `--mount`.
 */
export function buildRunArguments(spec: RunSpec): string[] {
  checkImageName(spec.executor.image);
  const binds: Bind[] = [
    { source: spec.helperBinary, target: HELPER_BINARY_PATH, readonly: true },
    { source: spec.logDirectory, target: HELPER_LOG_PATH },
    ...spec.mounts.map((mount) => ({ source: mount.source, target: mount.path })),
  ];
  return [
    'run',
    '--detach',
    '--name',
    spec.name,
    ...Object.entries(spec.labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
    '--pull',
    'never',
    '--entrypoint',
    HELPER_BINARY_PATH,
    ...mountArguments(binds),
    ...spec.envArguments,
    ...spec.resourceArguments,
    ...spec.extraArguments,
    spec.executor.image,
    ...helperArguments(spec.executor, {
      busybox: HELPER_BINARY_PATH,
      logDirectory: HELPER_LOG_PATH,
    }),
  ];
}

/** Rejects an image name that `run` would read as an option or split. */
export function checkImageName(image: string): void {
  if (image.startsWith('-') || /\s/.test(image)) throw new InvalidImageNameError(image);
}

function mountArguments(binds: readonly Bind[]): string[] {
  const problems = binds
    .filter((bind) => UNMOUNTABLE.test(bind.target))
    .map((bind) => `${bind.target}: contains , " or a line break, which cannot be mounted`);
  if (problems.length > 0) throw new MountPlanError(problems);
  return binds.flatMap((bind) => [
    '--mount',
    `type=bind,source=${bind.source},target=${bind.target}${bind.readonly ? ',readonly' : ''}`,
  ]);
}

/** Resource arguments of a `run` call and the CPU count they give when lower than requested. */
export interface ResourceArguments {
  args: string[];
  /** Set when `cpu_cores` was above `maxCpus` and lowered to it. */
  cappedCpus?: number;
}

/**
 * Maps `cpu_cores` to `--cpus`, lowered to `maxCpus` because the engines
 * reject more CPUs than the host has, and `ram_gb` to equal memory and
 * memory+swap limits, which keep the container from swapping past its limit.
 */
export function resourceArguments(
  resources: TesResources | undefined,
  maxCpus: number,
): ResourceArguments {
  const result: ResourceArguments = { args: [] };
  if (resources?.cpu_cores !== undefined) {
    const cpus = Math.min(resources.cpu_cores, maxCpus);
    if (cpus < resources.cpu_cores) result.cappedCpus = cpus;
    result.args.push('--cpus', String(cpus));
  }
  if (resources?.ram_gb !== undefined) {
    const bytes = String(Math.ceil(resources.ram_gb * GIB));
    result.args.push('--memory', bytes, '--memory-swap', bytes);
  }
  // NOTE: disk_gb is not enforced, because a host directory has no size limit.
  return result;
}
