/**
 * Validation of a CreateTask request: the JSON Schema of `tesTask` plus the
 * rules the TES specification states only in prose. Every problem is
 * reported at once, each as `field.path: rule`.
 */
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { ValidationError } from '../errors.js';
import { containerPathProblem, hasWildcard } from './paths.js';
import { TesTask, type TesInput, type TesOutput, type TesResources } from './schemas.js';

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv, ['uri', 'date-time']);
// OpenAPI's numeric formats carry no extra rule that JSON Schema types do not already check.
for (const format of ['int32', 'int64', 'double']) ajv.addFormat(format, true);
const checkTask = ajv.compile(TesTask);

const INT32_MAX = 2 ** 31 - 1;

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
  /** The submitted document without server-set fields, defaults filled in. */
  task: TesTask;
  /** Warnings for the task's `system_logs`, such as dropped backend parameters. */
  warnings: string[];
}

/**
 * Validates a CreateTask body and returns the task to store. Throws
 * {@link ValidationError} listing every problem found.
 */
export function prepareTask(body: unknown, options: TaskValidationOptions): PreparedTask {
  const document = withoutNulls(body);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new ValidationError(['body: must be a JSON object (a tesTask)']);
  }
  const problems = checkTask(document) ? [] : schemaProblems(checkTask.errors ?? []);
  const task = document as TesTask;
  problems.push(...ruleProblems(task, options));
  if (problems.length > 0) throw new ValidationError(problems);
  return normalize(task, options);
}

/**
 * Drops `null` members, because several clients send `null` for an absent
 * optional field, which the specification's schema would otherwise reject.
 */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (member !== null) result[key] = withoutNulls(member);
  }
  return result;
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
  const checkPath = (field: string, value: unknown) => {
    if (typeof value !== 'string') return;
    const problem = containerPathProblem(value);
    if (problem) problems.push(`${field}: ${problem}`);
  };
  each(task.inputs, (input, i) => problems.push(...inputProblems(input, `inputs[${i}]`, options)));
  each(task.outputs, (output, i) =>
    problems.push(...outputProblems(output, `outputs[${i}]`, options)),
  );
  each(task.volumes, (volume, i) => checkPath(`volumes[${i}]`, volume));
  each(task.executors, (executor, i) => {
    for (const field of ['workdir', 'stdin', 'stdout', 'stderr'] as const) {
      checkPath(`executors[${i}].${field}`, executor?.[field]);
    }
    for (const name of Object.keys(executor?.env ?? {})) {
      if (name === '' || name.includes('=') || name.includes('\0')) {
        problems.push(
          `executors[${i}].env: variable name "${name}" must be non-empty without "=" or NUL`,
        );
      }
    }
  });
  problems.push(...resourceProblems(task.resources, options));
  return problems;
}

function each<T>(items: readonly T[] | undefined, visit: (item: T, index: number) => void) {
  if (Array.isArray(items)) items.forEach(visit);
}

function inputProblems(input: TesInput, field: string, options: TaskValidationOptions): string[] {
  if (typeof input !== 'object' || input === null) return [];
  const problems: string[] = [];
  if (typeof input.path === 'string') {
    const problem = containerPathProblem(input.path);
    if (problem) problems.push(`${field}.path: ${problem}`);
  }
  const hasContent = typeof input.content === 'string';
  if (!hasContent && (input.url === undefined || input.url === '')) {
    problems.push(`${field}: url or content required`);
  }
  if (hasContent && input.type === 'DIRECTORY') {
    problems.push(`${field}.type: content makes a file, so type must be FILE`);
  }
  if (!hasContent && typeof input.url === 'string' && input.url !== '') {
    const problem = schemeProblem(input.url, options.inputSchemes);
    if (problem) problems.push(`${field}.url: ${problem}`);
  }
  return problems;
}

function outputProblems(output: TesOutput, field: string, options: TaskValidationOptions) {
  if (typeof output !== 'object' || output === null) return [];
  const problems: string[] = [];
  if (typeof output.path === 'string') {
    const problem = containerPathProblem(output.path);
    if (problem) problems.push(`${field}.path: ${problem}`);
    if (hasWildcard(output.path)) problems.push(...prefixProblems(output, field));
  }
  if (typeof output.url === 'string') {
    const problem =
      output.url === '' ? 'must not be empty' : schemeProblem(output.url, options.outputSchemes);
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

/** The URL scheme in lowercase; a bare absolute path counts as `file`. */
export function urlScheme(url: string): string | undefined {
  if (url.startsWith('/')) return 'file';
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  return match?.[1]?.toLowerCase();
}

function schemeProblem(url: string, schemes: readonly string[] | undefined): string | undefined {
  const scheme = urlScheme(url);
  if (scheme === undefined) return `"${url}" is not a URL or an absolute path`;
  if (schemes && !schemes.includes(scheme)) {
    return `scheme "${scheme}" is not supported; supported: ${schemes.join(', ') || 'none'}`;
  }
  return undefined;
}

function resourceProblems(resources: TesResources | undefined, options: TaskValidationOptions) {
  if (typeof resources !== 'object' || resources === null) return [];
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

/** Drops server-set fields and unsupported backend parameters, and fills in defaults. */
function normalize(task: TesTask, options: TaskValidationOptions): PreparedTask {
  const { id: _id, state: _state, logs: _logs, creation_time: _created, ...submitted } = task;
  const warnings: string[] = [];
  const result: TesTask = { ...submitted };
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
