/**
 * Validation of a CreateTask request: the JSON Schema of `tesTask`, the
 * rules the TES specification states only in prose, and the limits of the
 * containers and file systems that run the task. A task that would fail
 * later is rejected at submission. Every problem is reported at once, each
 * as `field.path: rule`.
 */
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { ValidationError } from '../errors.js';
import { TesTask, type TesResources } from './schemas.js';
import { executorProblems } from './validation-executors.js';
import { fileProblems } from './validation-files.js';
import type { FileAccess } from './validation-urls.js';

/** Deepest nesting of objects and arrays accepted in a request body, the body itself being level 1. */
export const MAX_BODY_DEPTH = 64;

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
  /** Directories that `file` URLs may point into; undefined accepts any. */
  fileAccess?: FileAccess;
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
      `body: objects and arrays are nested deeper than the limit of ${MAX_BODY_DEPTH} levels`,
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
    if (/^\d+$/.test(part)) path += `[${part}]`;
    else if (path === '') path = part;
    else path += `.${part}`;
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
      case 'maximum':
        return `${field}: must be at most ${String(params.limit)}`;
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
  const problems = fileProblems(task, options);
  if (Array.isArray(task.executors)) {
    task.executors.forEach((executor, i) => problems.push(...executorProblems(executor, i)));
  }
  problems.push(...resourceProblems(task.resources, options));
  return problems;
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
