/**
 * Validation of a CreateTask request: the JSON Schema of `tesTask`, the
 * rules the TES specification states only in prose, and the limits of the
 * containers and file systems that run the task, so that a task that would
 * fail later is rejected at submission. Every problem is reported at once,
 * each as `field.path: rule`.
 */
import { Buffer } from 'node:buffer';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { ValidationError } from '../errors.js';
import { MountPlanError } from '../runtime/errors.js';
import { normalizeContainerPath } from '../runtime/layout.js';
import { isWithin, planMounts } from '../runtime/mounts.js';
import { containerPathProblem, hasWildcard } from './paths.js';
import {
  TesTask,
  type TesExecutor,
  type TesInput,
  type TesOutput,
  type TesResources,
} from './schemas.js';

/** Deepest nesting of objects and arrays accepted in a request body, the body itself being level 1. */
export const MAX_BODY_DEPTH = 64;

/**
 * Largest single command argument or `NAME=value` environment entry, in
 * bytes with its terminating NUL. It is Linux's `MAX_ARG_STRLEN` (32 pages
 * of 4 KiB), above which `execve` fails with E2BIG.
 */
export const MAX_ARGUMENT_BYTES = 128 * 1024;

/**
 * Largest total of one executor's command and environment, in bytes, each
 * string counted with its terminating NUL. Linux limits a process's
 * arguments and environment together to a quarter of the stack limit, 2 MiB
 * with the usual 8 MiB, and the container engine's own arguments need the rest.
 */
export const MAX_EXECUTOR_ARGUMENTS_BYTES = 1024 * 1024;

/**
 * Environment variable names the executor receives. The helper that wraps
 * each command runs through a POSIX shell, which drops every other name.
 */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Fields the server sets; they are dropped from a request without being validated. */
const READ_ONLY_FIELDS: readonly string[] = ['id', 'state', 'logs', 'creation_time'];

const INT32_MAX = 2 ** 31 - 1;

/**
 * tesTask with every object that lists its properties closed, so that ajv's
 * `removeAdditional` drops members TES does not define instead of storing
 * them. The published schemas stay open, as TES defines them, because such
 * members are dropped rather than rejected. The string maps (`env`, `tags`,
 * `backend_parameters`) set `additionalProperties` themselves and keep every key.
 */
function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (typeof schema !== 'object' || schema === null) return schema;
  const result = Object.fromEntries(
    Object.entries(schema).map(([key, member]) => [key, closeObjects(member)]),
  );
  if ('properties' in result && !('additionalProperties' in result)) {
    result.additionalProperties = false;
  }
  return result;
}

const ajv = new Ajv({ allErrors: true, strict: false, removeAdditional: true });
addFormats.default(ajv, ['uri', 'date-time']);
// OpenAPI's numeric formats carry no extra rule that JSON Schema types do not already check.
for (const format of ['int32', 'int64', 'double']) ajv.addFormat(format, true);
const checkTask = ajv.compile(closeObjects(JSON.parse(JSON.stringify(TesTask))) as object);

export interface TaskValidationOptions {
  /** `backend_parameters` keys this server supports, in lowercase. */
  backendParameters: readonly string[];
  /** URL schemes inputs may use, such as `file` and `http`; undefined accepts any. */
  inputSchemes?: readonly string[];
  /** URL schemes outputs may use; undefined accepts any. */
  outputSchemes?: readonly string[];
}

/** A task ready to store, with notes for its system logs. */
export interface PreparedTask {
  /** The submitted document without server-set and unknown fields, defaults filled in. */
  task: TesTask;
  /** Warnings for the task's `system_logs`, such as dropped backend parameters. */
  warnings: string[];
}

/**
 * Validates a CreateTask body and returns the task to store. Throws
 * {@link ValidationError} listing every problem found.
 */
export function prepareTask(body: unknown, options: TaskValidationOptions): PreparedTask {
  // Checked first and without recursion, so the steps below cannot overflow the stack.
  if (nestsDeeperThan(body, MAX_BODY_DEPTH)) {
    throw new ValidationError([
      `body: objects and arrays are nested more than ${MAX_BODY_DEPTH} levels deep, ` +
        'which no TES task needs',
    ]);
  }
  const document = withoutNulls(body);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new ValidationError(['body: must be a JSON object (a tesTask)']);
  }
  for (const field of READ_ONLY_FIELDS) delete (document as Record<string, unknown>)[field];
  // Besides checking, this removes the members that the schema does not define.
  const problems = checkTask(document) ? [] : schemaProblems(checkTask.errors ?? []);
  const task = document as TesTask;
  problems.push(...ruleProblems(task, options));
  if (problems.length > 0) throw new ValidationError(problems);
  return normalize(task, options);
}

/** Returns whether objects and arrays in `value` nest deeper than `limit` levels. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.depth > limit) return true;
    for (const member of Object.values(next.value)) {
      pending.push({ value: member, depth: next.depth + 1 });
    }
  }
  return false;
}

/**
 * Copies `value` without its `null` members, because several clients send
 * `null` for an absent optional field, which the specification's schema
 * would otherwise reject. The recursion is as deep as the nesting, so the
 * caller limits that first. `Object.fromEntries` keeps a member named
 * `__proto__` as a plain member.
 */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, member]) => member !== null)
      .map(([key, member]) => [key, withoutNulls(member)]),
  );
}

/** `/executors/0/image` → `executors[0].image`. */
function fieldPath(pointer: string): string {
  const parts = pointer.split('/').slice(1);
  let path = '';
  for (const raw of parts) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(part) ? `[${part}]` : path === '' ? part : `.${part}`;
  }
  return path;
}

function schemaProblems(errors: readonly ErrorObject[]): string[] {
  return errors.map((error) => {
    const field = fieldPath(error.instancePath);
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'required': {
        const name = String(params.missingProperty);
        return `${field ? `${field}.` : ''}${name}: required`;
      }
      case 'type':
        return `${field}: must be ${describeType(String(params.type))}`;
      case 'enum':
        return `${field}: must be one of ${(params.allowedValues as string[]).join(', ')}`;
      case 'minItems':
        return `${field}: must not be empty`;
      case 'minLength':
        return `${field}: must not be empty`;
      default:
        return `${field || 'body'}: ${error.message ?? 'is invalid'}`;
    }
  });
}

function describeType(type: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    array: 'an array',
    object: 'an object',
  };
  return names[type] ?? type;
}

function ruleProblems(task: TesTask, options: TaskValidationOptions): string[] {
  const problems: string[] = [];
  each(task.inputs, (input, i) => problems.push(...inputProblems(input, `inputs[${i}]`, options)));
  problems.push(...inputOverlapProblems(task.inputs));
  each(task.outputs, (output, i) =>
    problems.push(...outputProblems(output, `outputs[${i}]`, options)),
  );
  problems.push(...duplicateOutputUrlProblems(task.outputs));
  each(task.volumes, (volume, i) => problems.push(...pathProblems(`volumes[${i}]`, volume)));
  problems.push(...mountProblems(task));
  each(task.executors, (executor, i) => problems.push(...executorProblems(executor, i)));
  problems.push(...resourceProblems(task.resources, options));
  return problems;
}

function each<T>(items: readonly T[] | undefined, visit: (item: T, index: number) => void) {
  if (Array.isArray(items)) items.forEach(visit);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The problem with a container path as a one-element list, or an empty list. */
function pathProblems(field: string, value: unknown): string[] {
  if (typeof value !== 'string') return [];
  const problem = containerPathProblem(value);
  return problem ? [`${field}: ${problem}`] : [];
}

function nulProblems(field: string, value: unknown): string[] {
  return typeof value === 'string' && value.includes('\0')
    ? [`${field}: must not contain a NUL character`]
    : [];
}

function inputProblems(input: TesInput, field: string, options: TaskValidationOptions): string[] {
  if (!isObject(input)) return [];
  const problems = pathProblems(`${field}.path`, input.path);
  const hasContent = typeof input.content === 'string';
  if (!hasContent && (input.url === undefined || input.url === '')) {
    problems.push(`${field}: url or content required`);
  }
  if (hasContent && input.type === 'DIRECTORY') {
    problems.push(`${field}.type: content makes a file, so type must be FILE`);
  }
  if (!hasContent && typeof input.url === 'string' && input.url !== '') {
    const problem = urlProblem(input.url, options.inputSchemes);
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
  const placed: Array<{ path: string; isFile: boolean; index: number }> = [];
  each(inputs, (input, i) => {
    if (!isObject(input) || typeof input.path !== 'string') return;
    if (containerPathProblem(input.path)) return;
    const path = normalizeContainerPath(input.path);
    const isFile = input.type !== 'DIRECTORY';
    const field = `inputs[${i}].path`;
    for (const other of placed) {
      const otherField = `inputs[${other.index}]`;
      if (path === other.path) {
        problems.push(
          `${field}: "${path}" is also the path of ${otherField}; give each input its own path`,
        );
      } else if (other.isFile && isWithin(path, other.path)) {
        problems.push(
          `${field}: "${path}" cannot be inside "${other.path}", which ${otherField} makes a file`,
        );
      } else if (isFile && isWithin(other.path, path)) {
        problems.push(
          `${field}: "${path}" cannot be a file, because "${other.path}" of ${otherField} is inside it`,
        );
      }
    }
    placed.push({ path, isFile, index: i });
  });
  return problems;
}

function outputProblems(output: TesOutput, field: string, options: TaskValidationOptions) {
  if (!isObject(output)) return [];
  const problems = pathProblems(`${field}.path`, output.path);
  if (typeof output.path === 'string' && hasWildcard(output.path)) {
    problems.push(...prefixProblems(output, field));
  }
  if (typeof output.url === 'string') {
    const problem =
      output.url === '' ? 'must not be empty' : urlProblem(output.url, options.outputSchemes);
    if (problem) problems.push(`${field}.url: ${problem}`);
  }
  return problems;
}

function prefixProblems(output: TesOutput, field: string): string[] {
  const prefix = output.path_prefix;
  if (prefix === undefined || prefix === '') {
    return [`${field}.path_prefix: required when path has wildcards`];
  }
  const pathProblem = containerPathProblem(prefix);
  if (pathProblem) return [`${field}.path_prefix: ${pathProblem}`];
  if (hasWildcard(prefix)) return [`${field}.path_prefix: must not contain wildcards`];
  if (!output.path.startsWith(prefix)) {
    return [`${field}.path_prefix: "${prefix}" is not a prefix of path "${output.path}"`];
  }
  return [];
}

/**
 * Reports outputs that upload to the same url, where one would overwrite or
 * collide with the other. Two wildcard outputs may share a url, because
 * each appends the names of its matches to it.
 */
function duplicateOutputUrlProblems(outputs: readonly TesOutput[] | undefined): string[] {
  const problems: string[] = [];
  const seen: Array<{ url: string; isWildcard: boolean; index: number }> = [];
  each(outputs, (output, i) => {
    if (!isObject(output) || typeof output.url !== 'string' || typeof output.path !== 'string') {
      return;
    }
    const url = canonicalUrl(output.url);
    if (url === undefined) return;
    const isWildcard = hasWildcard(output.path);
    const first = seen.find((other) => other.url === url && !(isWildcard && other.isWildcard));
    if (first) {
      problems.push(
        `outputs[${i}].url: "${output.url}" is also the url of outputs[${first.index}]; ` +
          'give each output its own url',
      );
    }
    seen.push({ url, isWildcard, index: i });
  });
  return problems;
}

/** The URL in the form the storage backends resolve it to, or undefined when it does not parse. */
function canonicalUrl(url: string): string | undefined {
  let parsed: URL;
  if (url.startsWith('/')) parsed = pathToFileURL(url);
  else if (URL.canParse(url)) parsed = new URL(url);
  else return undefined;
  const href = parsed.href;
  return href.endsWith('/') && parsed.pathname !== '/' ? href.slice(0, -1) : href;
}

/** The URL scheme in lowercase; a bare absolute path counts as `file`. */
export function urlScheme(url: string): string | undefined {
  if (url.startsWith('/')) return 'file';
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  return match?.[1]?.toLowerCase();
}

/**
 * The problem with an input or output URL, or undefined when the storage
 * backends can use it: a supported scheme, a URL that parses, a host for
 * `http` and `https`, and a local path for `file`.
 */
function urlProblem(url: string, schemes: readonly string[] | undefined): string | undefined {
  if (url.includes('\0')) return 'must not contain a NUL character';
  const scheme = urlScheme(url);
  if (scheme === undefined) return `"${url}" is not a URL or an absolute path`;
  if (schemes && !schemes.includes(scheme)) {
    return `scheme "${scheme}" is not supported; supported: ${schemes.join(', ') || 'none'}`;
  }
  if (url.startsWith('/')) return undefined;
  if ((scheme === 'http' || scheme === 'https') && !/^[^:]+:\/\/[^/?#]/.test(url)) {
    return `"${url}" has no host; use a URL such as ${scheme}://example.org/data.txt`;
  }
  if (!URL.canParse(url)) return `"${url}" cannot be parsed as a URL`;
  return scheme === 'file' ? fileUrlProblem(url) : undefined;
}

function fileUrlProblem(url: string): string | undefined {
  const parsed = new URL(url);
  // The URL parser turns the host `localhost` of a file URL into the empty host.
  if (parsed.hostname !== '') {
    return `"${url}" names the host "${parsed.hostname}"; a file url must have an empty host or localhost, as in file:///data/x`;
  }
  let localPath: string;
  try {
    localPath = fileURLToPath(parsed);
  } catch {
    return `"${url}" is not a local path; percent-encode no "/" in a file url`;
  }
  return localPath.includes('\0') ? 'must not contain an encoded NUL character (%00)' : undefined;
}

/**
 * Reports the input, output and volume paths that the runtime cannot mount,
 * such as `/`, `/proc` or its own `/.poiesis`, with the rules the runtime
 * enforces itself. It runs only when every such path is an absolute
 * container path, because the mount planner reports malformed paths again.
 */
function mountProblems(task: TesTask): string[] {
  const paths = [
    ...(Array.isArray(task.inputs) ? task.inputs : []).map((input) => input?.path),
    ...(Array.isArray(task.outputs) ? task.outputs : []).map((output) => output?.path),
    ...(Array.isArray(task.volumes) ? task.volumes : []),
  ];
  const plannable =
    [task.inputs, task.outputs, task.volumes].every(
      (list) => list === undefined || Array.isArray(list),
    ) &&
    paths.every((path) => typeof path === 'string' && containerPathProblem(path) === undefined);
  if (!plannable) return [];
  try {
    planMounts(task);
    return [];
  } catch (error) {
    if (error instanceof MountPlanError) return [...error.problems];
    throw error;
  }
}

function executorProblems(executor: TesExecutor, index: number): string[] {
  if (!isObject(executor)) return [];
  const field = `executors[${index}]`;
  const problems: string[] = [];
  for (const name of ['workdir', 'stdin', 'stdout', 'stderr'] as const) {
    problems.push(...pathProblems(`${field}.${name}`, executor[name]));
  }
  problems.push(...nulProblems(`${field}.image`, executor.image));
  each(executor.command, (argument, i) => {
    problems.push(...nulProblems(`${field}.command[${i}]`, argument));
  });
  const env = isObject(executor.env) ? executor.env : {};
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) {
      problems.push(
        `${field}.env: variable name ${JSON.stringify(name)} is not supported; ` +
          'use letters, digits and _ and do not start with a digit',
      );
    }
    problems.push(...nulProblems(`${field}.env.${name}`, value));
  }
  problems.push(...argumentSizeProblems(executor, field));
  return problems;
}

/**
 * Reports a command or environment that the kernel would reject with E2BIG
 * when the container engine or the executor's command starts.
 */
function argumentSizeProblems(executor: TesExecutor, field: string): string[] {
  const problems: string[] = [];
  let total = 0;
  const count = (entryField: string, text: string, what: string) => {
    const bytes = Buffer.byteLength(text) + 1;
    total += bytes;
    if (bytes > MAX_ARGUMENT_BYTES) {
      problems.push(
        `${entryField}: ${what} is ${bytes - 1} bytes, above the limit of ` +
          `${MAX_ARGUMENT_BYTES - 1} bytes; pass large data in an input file`,
      );
    }
  };
  each(executor.command, (argument, i) => {
    if (typeof argument === 'string') count(`${field}.command[${i}]`, argument, 'the argument');
  });
  for (const [name, value] of Object.entries(isObject(executor.env) ? executor.env : {})) {
    if (typeof value === 'string') {
      count(`${field}.env.${name}`, `${name}=${value}`, 'NAME=value');
    }
  }
  if (total > MAX_EXECUTOR_ARGUMENTS_BYTES) {
    problems.push(
      `${field}: command and env take ${total} bytes, above the limit of ` +
        `${MAX_EXECUTOR_ARGUMENTS_BYTES} bytes (1 MiB); pass large data in an input file`,
    );
  }
  return problems;
}

function resourceProblems(resources: TesResources | undefined, options: TaskValidationOptions) {
  if (!isObject(resources)) return [];
  const problems: string[] = [];
  if (typeof resources.cpu_cores === 'number' && resources.cpu_cores > INT32_MAX) {
    problems.push(`resources.cpu_cores: must be at most ${INT32_MAX}`);
  }
  if (resources.backend_parameters_strict === true) {
    const unsupported = unsupportedKeys(resources.backend_parameters, options);
    if (unsupported.length > 0) {
      const supported = options.backendParameters.join(', ') || 'none';
      problems.push(
        `resources.backend_parameters: unsupported keys ${unsupported.join(', ')} ` +
          `with backend_parameters_strict; supported: ${supported}`,
      );
    }
  }
  return problems;
}

function unsupportedKeys(
  parameters: Record<string, string> | undefined,
  options: TaskValidationOptions,
): string[] {
  if (typeof parameters !== 'object' || parameters === null) return [];
  return Object.keys(parameters).filter(
    (key) => !options.backendParameters.includes(key.toLowerCase()),
  );
}

/** Drops unsupported backend parameters and fills in defaults. */
function normalize(task: TesTask, options: TaskValidationOptions): PreparedTask {
  const warnings: string[] = [];
  const result: TesTask = { ...task };
  if (result.inputs) {
    result.inputs = result.inputs.map((input) => ({ ...input, type: input.type ?? 'FILE' }));
  }
  if (result.outputs) {
    result.outputs = result.outputs.map((output) => ({ ...output, type: output.type ?? 'FILE' }));
  }
  const parameters = result.resources?.backend_parameters;
  if (result.resources && parameters) {
    const dropped = unsupportedKeys(parameters, options);
    if (dropped.length > 0) {
      warnings.push(
        `backend_parameters ${dropped.join(', ')} are not supported by this server and were ignored`,
      );
    }
    const kept = Object.entries(parameters).filter(([key]) => !dropped.includes(key));
    result.resources = {
      ...result.resources,
      backend_parameters: Object.fromEntries(
        kept.map(([key, value]) => [key.toLowerCase(), value]),
      ),
    };
  }
  return { task: result, warnings };
}
