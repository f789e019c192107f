/**
 * Rules for the executors of a task beyond its JSON Schema: what a
 * container engine and the kernel accept when the executor starts.
 */
import { Buffer } from 'node:buffer';
import { isShellName } from '../runtime/env-file.js';
import { containerPathProblems } from './paths.js';
import type { TesExecutor } from './schemas.js';

/**
 * Largest single command argument or `NAME=value` environment entry, in
 * bytes with its terminating NUL. It is Linux's `MAX_ARG_STRLEN` (32 pages
 * of 4 KiB), above which `execve` fails with E2BIG.
 */
export const MAX_ARGUMENT_BYTES = 128 * 1024;

/**
 * Largest total of one executor's command and environment, in bytes, each
 * string counted with its terminating NUL. Linux limits the arguments and
 * environment of a process together to a quarter of the stack limit, which
 * is 2 MiB with the usual 8 MiB stack, and the container engine's own
 * arguments and environment need the rest.
 */
export const MAX_EXECUTOR_ARGUMENTS_BYTES = 1024 * 1024;

/** Returns every problem of executor `index` as `field.path: rule` messages. */
export function executorProblems(executor: TesExecutor, index: number): string[] {
  if (typeof executor !== 'object' || executor === null) return [];
  const field = `executors[${index}]`;
  const problems: string[] = [];
  for (const name of ['workdir', 'stdin', 'stdout', 'stderr'] as const) {
    problems.push(...containerPathProblems(`${field}.${name}`, executor[name]));
  }
  problems.push(...nulProblems(`${field}.image`, executor.image));
  argumentsOf(executor).forEach((argument, i) => {
    problems.push(...nulProblems(`${field}.command[${i}]`, argument));
  });
  for (const [name, value] of environmentOf(executor)) {
    if (!isShellName(name)) {
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

function nulProblems(field: string, value: unknown): string[] {
  return typeof value === 'string' && value.includes('\0')
    ? [`${field}: must not contain a NUL character`]
    : [];
}

/** Returns the command, or nothing when the schema check has already rejected it. */
function argumentsOf(executor: TesExecutor): unknown[] {
  return Array.isArray(executor.command) ? executor.command : [];
}

function environmentOf(executor: TesExecutor): Array<[string, unknown]> {
  const env: unknown = executor.env;
  return typeof env === 'object' && env !== null ? Object.entries(env) : [];
}

/**
 * Reports a command or environment that the kernel would reject with E2BIG
 * when the container engine or the executor's command starts.
 */
function argumentSizeProblems(executor: TesExecutor, field: string): string[] {
  const problems: string[] = [];
  let total = 0;
  const count = (entryField: string, text: string, label: string) => {
    const bytes = Buffer.byteLength(text) + 1;
    total += bytes;
    if (bytes > MAX_ARGUMENT_BYTES) {
      problems.push(
        `${entryField}: ${label} is ${bytes - 1} bytes, above the limit of ` +
          `${MAX_ARGUMENT_BYTES - 1} bytes; pass large data in an input file`,
      );
    }
  };
  argumentsOf(executor).forEach((argument, i) => {
    if (typeof argument === 'string') count(`${field}.command[${i}]`, argument, 'the argument');
  });
  for (const [name, value] of environmentOf(executor)) {
    if (typeof value === 'string') count(`${field}.env.${name}`, `${name}=${value}`, 'NAME=value');
  }
  if (total > MAX_EXECUTOR_ARGUMENTS_BYTES) {
    problems.push(
      `${field}: command and env take ${total} bytes, above the limit of ` +
        `${MAX_EXECUTOR_ARGUMENTS_BYTES} bytes (1 MiB); pass large data in an input file`,
    );
  }
  return problems;
}
