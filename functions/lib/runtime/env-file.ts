/** Passing an executor's environment to `run` without putting values in the process list. */
import { writeFile } from 'node:fs/promises';

/**
 * Names a POSIX shell keeps in the environment. The helper runs the command
 * from busybox `sh`, which drops every other name before the command starts.
 */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks whether an executor can receive an environment variable of this name. */
export function isShellName(name: string): boolean {
  return SHELL_NAME.test(name);
}

/** The `run` arguments for an environment, and the names that cannot be passed. */
export interface EnvArguments {
  args: string[];
  /** Names that are not shell identifiers, which the helper's shell would drop. */
  dropped: string[];
}

/**
 * Writes the environment into an env file readable only by this user and
 * returns the `run` arguments that pass it. Values with line breaks, which
 * an env file cannot carry, go in `--env NAME=VALUE` arguments instead.
 * Writes no file when no entry needs one. An empty value stays set and empty.
 *
 * The caller deletes the file once `run` has returned, because the CLI
 * reads it before it creates the container.
 */
export async function envArguments(
  file: string,
  env: Readonly<Record<string, string>>,
): Promise<EnvArguments> {
  const lines: string[] = [];
  const args: string[] = [];
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!SHELL_NAME.test(name)) {
      dropped.push(name);
    } else if (/[\r\n]/.test(value)) {
      // NOTE: such values are visible in the host's process list while `run` executes.
      args.push('--env', `${name}=${value}`);
    } else {
      lines.push(`${name}=${value}`);
    }
  }
  if (lines.length > 0) {
    await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
    args.unshift('--env-file', file);
  }
  return { args, dropped };
}
