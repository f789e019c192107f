/**
 * Calls to the podman or docker CLI. Only subcommands and output shapes the
 * two share are used: `run`, `ps --all --no-trunc --filter label=...` (ids, or
 * ids with states),
 * `inspect` (a JSON array), `image inspect`, `pull`, `stop` and `rm`.
 *
 * Every call goes through `execFile` with an argv array, never a shell, so
 * no value of a task is ever parsed by a shell on the host.
 */
import { execFile } from 'node:child_process';
import { ContainerEngineError, ContainerEngineNotFoundError } from './errors.js';
import type { ContainerState } from './runtime.js';

/** Engines tried in order when none is configured. */
export const DEFAULT_ENGINES: readonly string[] = ['podman', 'docker'];

/** The CLI's output of one successful call. */
export interface EngineOutput {
  stdout: string;
  stderr: string;
}

/** Runs a binary with arguments; the seam tests replace. */
export type ExecFileFunction = (
  file: string,
  args: readonly string[],
  options: { timeout: number; maxBuffer: number; cwd?: string },
) => Promise<EngineOutput>;

/** `execFile` from node:child_process as a promise; the error carries `stdout` and `stderr`. */
export const defaultExecFile: ExecFileFunction = (file, args, options) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { ...options, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const failure: ExecFailure = Object.assign(error, { stdout, stderr });
        reject(failure);
      } else {
        resolve({ stdout, stderr });
      }
    });
  });

interface ExecFailure extends Error {
  code?: number | string | null;
  killed?: boolean;
  signal?: NodeJS.Signals | null;
  stdout?: string;
  stderr?: string;
}

/**
 * Finds the first of `candidates` that runs (`<binary> --version`), or
 * undefined when none does. PATH is searched by `execFile` itself.
 */
export async function detectEngine(
  candidates: readonly string[] = DEFAULT_ENGINES,
  run: ExecFileFunction = defaultExecFile,
): Promise<string | undefined> {
  for (const candidate of candidates) {
    try {
      await run(candidate, ['--version'], { timeout: 10_000, maxBuffer: 1024 * 1024 });
      return candidate;
    } catch {
      // Not installed or not runnable: try the next one.
    }
  }
  return undefined;
}

/** The fields of `inspect` output that the runtime reads; podman and docker share them. */
/** A container as `ps` lists it. */
export interface ListedContainer {
  id: string;
  name: string;
  state: ContainerState;
}

/**
 * Reads the state column of `ps`: docker prints a word such as `running`,
 * podman 4 a phrase such as `Up 3 seconds` or `Exited (0) 1 second ago`.
 */
export function coarseState(text: string): ContainerState {
  if (/^(up|running|paused|restarting)\b/i.test(text)) return 'running';
  if (/^(exited|stopped|dead)\b/i.test(text)) return 'exited';
  if (/^(created|initialized|configured)\b/i.test(text)) return 'created';
  return 'unknown';
}

export interface InspectedContainer {
  Id: string;
  Name: string;
  /** podman's name of the image the container was created from. */
  ImageName?: string;
  State: {
    Status: string;
    ExitCode: number;
    OOMKilled?: boolean;
    StartedAt?: string;
    FinishedAt?: string;
    Error?: string;
  };
  Config: { Image?: string; Labels?: Record<string, string> | null };
}

export interface ContainerEngineOptions {
  /** Binary name or path; when unset, the first of `candidates` that runs. */
  binary?: string;
  /** @defaultValue {@link DEFAULT_ENGINES} */
  candidates?: readonly string[];
  /** Time limit of one CLI call in ms, except pulls. @defaultValue 60000 */
  commandTimeoutMs?: number;
  execFile?: ExecFileFunction;
}

/** Options of one CLI call. */
export interface RunOptions {
  /** Time limit in ms. @defaultValue the engine's command timeout */
  timeoutMs?: number;
  /**
   * Working directory of the call. Podman's conmon inherits it, and conmon
   * 2.1 of Debian 12 writes a file named `oom` there when a container is
   * OOM-killed.
   * @defaultValue the working directory of the process
   */
  cwd?: string;
}

/** One container engine CLI, found on first use. */
export class ContainerEngine {
  private readonly candidates: readonly string[];
  private readonly commandTimeoutMs: number;
  private readonly execFile: ExecFileFunction;
  private resolved: Promise<string> | undefined;

  constructor(private readonly options: ContainerEngineOptions = {}) {
    this.candidates = options.candidates ?? DEFAULT_ENGINES;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 60_000;
    this.execFile = options.execFile ?? defaultExecFile;
  }

  /** Returns the engine binary in use, detecting it on first use. @throws ContainerEngineNotFoundError */
  binary(): Promise<string> {
    this.resolved ??= this.resolveBinary();
    return this.resolved;
  }

  private async resolveBinary(): Promise<string> {
    if (this.options.binary !== undefined) return this.options.binary;
    const found = await detectEngine(this.candidates, this.execFile);
    if (found === undefined) {
      // Forget the failure, so an engine installed later is found on the next call.
      this.resolved = undefined;
      throw new ContainerEngineNotFoundError(this.candidates);
    }
    return found;
  }

  /**
   * Runs one CLI call.
   *
   * @throws ContainerEngineError when the call exits non-zero or times out
   * @throws ContainerEngineNotFoundError when the binary does not exist
   */
  async run(args: readonly string[], options: RunOptions = {}): Promise<EngineOutput> {
    const binary = await this.binary();
    const timeoutMs = options.timeoutMs ?? this.commandTimeoutMs;
    // Only the subcommand goes into messages: later arguments may contain task values.
    const command = `${binary} ${args[0] ?? ''}`.trim();
    try {
      return await this.execFile(binary, args, {
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      });
    } catch (error) {
      const failure = error as ExecFailure;
      if (failure.code === 'ENOENT') throw new ContainerEngineNotFoundError([binary]);
      if (failure.killed === true || failure.signal) {
        throw new ContainerEngineError(command, undefined, `timed out after ${timeoutMs} ms`, {
          cause: error,
        });
      }
      const exitCode = typeof failure.code === 'number' ? failure.code : undefined;
      const detail = lastLines(failure.stderr ?? '') || failure.message;
      throw new ContainerEngineError(command, exitCode, detail, { cause: error });
    }
  }

  /** Full ids of every container, running or not, that carries all of `labels`. */
  async listIds(labels: Readonly<Record<string, string>>): Promise<string[]> {
    const filters = Object.entries(labels).flatMap(([key, value]) => [
      '--filter',
      `label=${key}=${value}`,
    ]);
    const { stdout } = await this.run(['ps', '--all', '--quiet', '--no-trunc', ...filters]);
    return stdout.split('\n').filter((line) => line.trim() !== '');
  }

  /**
   * Lists containers with their coarse state, in one `ps` call, so that
   * callers inspect only the containers whose state matters to them.
   */
  async listStates(labels: Readonly<Record<string, string>>): Promise<ListedContainer[]> {
    const filters = Object.entries(labels).flatMap(([key, value]) => [
      '--filter',
      `label=${key}=${value}`,
    ]);
    const { stdout } = await this.run([
      'ps',
      '--all',
      '--no-trunc',
      '--format',
      '{{.ID}} {{.Names}} {{.State}}',
      ...filters,
    ]);
    return stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [id = '', name = '', ...state] = line.trim().split(' ');
        return { id, name, state: coarseState(state.join(' ')) };
      });
  }

  /**
   * Inspects containers. A container removed since it was listed is left
   * out of the result instead of failing the call.
   */
  async inspect(ids: readonly string[]): Promise<InspectedContainer[]> {
    if (ids.length === 0) return [];
    let stdout: string;
    try {
      ({ stdout } = await this.run(['inspect', '--type', 'container', ...ids]));
    } catch (error) {
      // Both CLIs print the containers they found before failing on a missing one.
      if (!(error instanceof ContainerEngineError)) throw error;
      const partial = (error.cause as ExecFailure | undefined)?.stdout ?? '';
      if (!partial.trim().startsWith('[')) throw error;
      stdout = partial;
    }
    return parseInspect(stdout);
  }

  /** Returns whether the image is present locally. */
  async imageExists(image: string): Promise<boolean> {
    try {
      await this.run(['image', 'inspect', '--format', '{{.Id}}', image]);
      return true;
    } catch (error) {
      if (error instanceof ContainerEngineError && error.exitCode !== undefined) return false;
      throw error;
    }
  }
}

/** Parses `inspect` output, keeping the entries that have the fields the runtime reads. */
export function parseInspect(stdout: string): InspectedContainer[] {
  const parsed: unknown = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
  if (!Array.isArray(parsed)) return [];
  return parsed.filter((entry): entry is InspectedContainer => {
    if (typeof entry !== 'object' || entry === null) return false;
    const candidate = entry as Partial<InspectedContainer>;
    return (
      typeof candidate.Id === 'string' &&
      typeof candidate.State?.Status === 'string' &&
      typeof candidate.Config === 'object'
    );
  });
}

/** Returns the last lines of CLI output, enough to explain a failure without flooding a log. */
function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join(' ').trim();
}
