/**
 * Runs `poiesis local` as a child process, the way a user starts it, on a
 * free loopback port and a data directory of the test's choosing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, '../../bin/run.js');

export interface LocalProcess {
  apiUrl: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process wrote to standard error (its JSON log). */
  log(): string;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, and waits for the exit: a crash, as far as Poiesis can tell. */
  kill(): Promise<void>;
}

/** Whether `npm run build` has produced the CLI that `bin/run.js` loads. */
export function cliBuilt(): boolean {
  return existsSync(path.resolve(here, '../../dist/cli/commands/local.js'));
}

export async function startLocalProcess(
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<LocalProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'poiesis-e2e-'));
  const child = spawn(process.execPath, [BIN, 'local', '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, POIESIS_LOG_LEVEL: 'debug', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const apiUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`poiesis local did not start:\n${stderr}`)),
      30_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`poiesis local exited with ${code}:\n${stderr}`));
    });
  });

  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return {
    apiUrl,
    dataDir,
    child,
    log: () => stderr,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
}
