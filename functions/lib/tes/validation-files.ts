/**
 * Rules for the inputs, outputs and volumes of a task beyond its JSON
 * Schema: their paths, their URLs and what the runtime can mount.
 */
import { MountPlanError } from '../runtime/errors.js';
import { normalizeContainerPath } from '../runtime/layout.js';
import { planMounts } from '../runtime/mounts.js';
import { ancestorsOf, containerPathProblem, containerPathProblems, hasWildcard } from './paths.js';
import type { TesInput, TesOutput, TesTask } from './schemas.js';
import { canonicalUrl, fileAccessProblem, type FileAccess, urlProblem } from './validation-urls.js';

/** URL schemes the storage backends accept; undefined accepts any. */
export interface UrlSchemes {
  inputSchemes?: readonly string[];
  outputSchemes?: readonly string[];
  /** Directories that `file` URLs may point into; undefined accepts any. */
  fileAccess?: FileAccess;
}

/** Returns every problem of the task's inputs, outputs and volumes as `field.path: rule` messages. */
export function fileProblems(task: TesTask, schemes: UrlSchemes): string[] {
  const problems: string[] = [];
  each(task.inputs, (input, i) => problems.push(...inputProblems(input, i, schemes)));
  problems.push(...inputOverlapProblems(task.inputs));
  each(task.outputs, (output, i) => problems.push(...outputProblems(output, i, schemes)));
  problems.push(...duplicateOutputUrlProblems(task.outputs));
  each(task.volumes, (volume, i) =>
    problems.push(...containerPathProblems(`volumes[${i}]`, volume)),
  );
  problems.push(...mountProblems(task));
  return problems;
}

function each<T>(items: readonly T[] | undefined, visit: (item: T, index: number) => void) {
  if (Array.isArray(items)) items.forEach(visit);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function inputProblems(input: TesInput, index: number, schemes: UrlSchemes): string[] {
  if (!isObject(input)) return [];
  const field = `inputs[${index}]`;
  const problems = containerPathProblems(`${field}.path`, input.path);
  const hasContent = typeof input.content === 'string';
  if (!hasContent && (input.url === undefined || input.url === '')) {
    problems.push(`${field}: url or content required`);
  }
  if (hasContent && input.type === 'DIRECTORY') {
    problems.push(`${field}.type: content makes a file, so type must be FILE`);
  }
  if (!hasContent && typeof input.url === 'string' && input.url !== '') {
    const problem =
      urlProblem(input.url, schemes.inputSchemes) ?? accessProblem(input.url, schemes);
    if (problem) problems.push(`${field}.url: ${problem}`);
  }
  return problems;
}

/**
 * Reports inputs with the same path, and inputs inside the path of a FILE
 * input, because one path cannot be both a file and a directory.
 */
function inputOverlapProblems(inputs: readonly TesInput[] | undefined): string[] {
  const problems: string[] = [];
  const paths: string[] = [];
  /** The first input at each path, the first FILE input there, and the first input inside each directory. */
  const firstAt = new Map<string, number>();
  const fileAt = new Map<string, number>();
  const firstInside = new Map<string, number>();
  each(inputs, (input, i) => {
    if (!isObject(input) || typeof input.path !== 'string') return;
    if (containerPathProblem(input.path) !== undefined) return;
    const path = normalizeContainerPath(input.path);
    const isFile = input.type !== 'DIRECTORY';
    const ancestors = ancestorsOf(path);
    const field = `inputs[${i}].path`;
    paths[i] = path;

    const same = firstAt.get(path);
    if (same !== undefined) {
      problems.push(
        `${field}: "${path}" is also the path of inputs[${same}]; give each input its own path`,
      );
    }
    const fileAbove = ancestors.find((ancestor) => fileAt.has(ancestor));
    if (fileAbove !== undefined) {
      problems.push(
        `${field}: "${path}" cannot be inside "${fileAbove}", which inputs[${fileAt.get(fileAbove)}] makes a file`,
      );
    }
    const inside = isFile ? firstInside.get(path) : undefined;
    if (inside !== undefined) {
      problems.push(
        `${field}: "${path}" cannot be a file, because "${paths[inside]}" of inputs[${inside}] is inside it`,
      );
    }

    if (same === undefined) firstAt.set(path, i);
    if (isFile && !fileAt.has(path)) fileAt.set(path, i);
    for (const ancestor of ancestors) if (!firstInside.has(ancestor)) firstInside.set(ancestor, i);
  });
  return problems;
}

function outputProblems(output: TesOutput, index: number, schemes: UrlSchemes): string[] {
  if (!isObject(output)) return [];
  const field = `outputs[${index}]`;
  const problems = containerPathProblems(`${field}.path`, output.path);
  if (typeof output.path === 'string' && hasWildcard(output.path)) {
    problems.push(...prefixProblems(output, field));
  }
  if (typeof output.url === 'string') {
    const problem =
      output.url === ''
        ? 'must not be empty'
        : (urlProblem(output.url, schemes.outputSchemes) ?? accessProblem(output.url, schemes));
    if (problem) problems.push(`${field}.url: ${problem}`);
  }
  return problems;
}

function accessProblem(url: string, schemes: UrlSchemes): string | undefined {
  return schemes.fileAccess && fileAccessProblem(url, schemes.fileAccess);
}

function prefixProblems(output: TesOutput, field: string): string[] {
  const prefix = output.path_prefix;
  if (prefix === undefined || prefix === '') {
    return [`${field}.path_prefix: required when path has wildcards`];
  }
  // The schema check reports a prefix that is not a string.
  if (typeof prefix !== 'string') return [];
  const pathProblem = containerPathProblem(prefix);
  if (pathProblem) return [`${field}.path_prefix: ${pathProblem}`];
  if (hasWildcard(prefix)) return [`${field}.path_prefix: must not contain wildcards`];
  if (!output.path.startsWith(prefix)) {
    return [`${field}.path_prefix: "${prefix}" is not a prefix of path "${output.path}"`];
  }
  return [];
}

/**
 * Reports outputs that upload to the same url, where the second would
 * overwrite or collide with the first. Two wildcard outputs may share a
 * url, because each appends the names of its matches to it.
 */
function duplicateOutputUrlProblems(outputs: readonly TesOutput[] | undefined): string[] {
  const problems: string[] = [];
  /** By url: the first output with it, and the first one without wildcards. */
  const first = new Map<string, { any: number; plain?: number }>();
  each(outputs, (output, i) => {
    if (!isObject(output) || typeof output.url !== 'string' || typeof output.path !== 'string') {
      return;
    }
    const url = canonicalUrl(output.url);
    if (url === undefined) return;
    const isWildcard = hasWildcard(output.path);
    const seen = first.get(url);
    const clash = isWildcard ? seen?.plain : seen?.any;
    if (clash !== undefined) {
      problems.push(
        `outputs[${i}].url: "${output.url}" is also the url of outputs[${clash}]; ` +
          'give each output its own url',
      );
    }
    if (seen === undefined) first.set(url, { any: i, ...(isWildcard ? {} : { plain: i }) });
    else if (!isWildcard) seen.plain ??= i;
  });
  return problems;
}

/**
 * Reports the input, output and volume paths that the runtime cannot mount,
 * such as `/`, anything under `/proc` or under its own `/.poiesis`, with the
 * rules of the runtime's mount planner. Only well-formed paths are planned,
 * because the other ones are reported already.
 */
function mountProblems(task: TesTask): string[] {
  const lists = [task.inputs, task.outputs, task.volumes];
  if (!lists.every((list) => list === undefined || Array.isArray(list))) return [];
  const plannable = {
    inputs: wellFormed(task.inputs, (input) => (isObject(input) ? input.path : undefined)),
    outputs: wellFormed(task.outputs, (output) => (isObject(output) ? output.path : undefined)),
    volumes: wellFormed(task.volumes, (volume) => volume),
  };
  try {
    planMounts(plannable);
    return [];
  } catch (error) {
    if (error instanceof MountPlanError) return [...error.problems];
    throw error;
  }
}

/**
 * Returns a copy of `items` with a hole in place of each item whose path is
 * not an absolute container path. The planner's `forEach` skips holes, so
 * the items keep their indices in its messages.
 */
function wellFormed<T>(items: readonly T[] | undefined, pathOf: (item: T) => unknown): T[] {
  const copy = new Array<T>(items?.length ?? 0);
  (items ?? []).forEach((item, i) => {
    const path = pathOf(item);
    if (typeof path === 'string' && containerPathProblem(path) === undefined) copy[i] = item;
  });
  return copy;
}
