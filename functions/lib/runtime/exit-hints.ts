/**
 * Hints that a container died, read from the engine's event stream
 * (`podman events` or `docker events`), so that the watcher inspects that
 * container at once instead of at the end of its interval. The poll stays
 * the source of truth: a hint carries only the container's id, and a lost
 * hint only delays a report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '../logging.js';

export interface ExitHintsOptions {
  /** The engine binary, such as `podman` or `/usr/bin/docker`. */
  binary: string;
  /** Label filters, such as `org.poiesis.managed=true`. */
  labels: Record<string, string>;
  /** Called with the id of each container that died. */
  onHint: (containerId: string) => void;
  /** Wait before the stream is started again after it ended, in ms. @defaultValue 1000 */
  restartDelayMs?: number;
  logger: Logger;
}

/** Follows the engine's container death events until closed. */
export class ExitHints {
  private child: ChildProcess | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ExitHintsOptions) {
    this.start();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.child?.kill();
  }

  private start(): void {
    if (this.closed) return;
    // podman names the event `died`, docker `die`.
    const died = path.basename(this.options.binary).includes('docker') ? 'die' : 'died';
    const filters = Object.entries(this.options.labels).flatMap(([key, value]) => [
      '--filter',
      `label=${key}=${value}`,
    ]);
    const child = spawn(
      this.options.binary,
      [
        'events',
        '--filter',
        'type=container',
        '--filter',
        `event=${died}`,
        ...filters,
        '--format',
        '{{.ID}}',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    this.child = child;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const containerId = line.trim();
      if (containerId !== '') this.options.onHint(containerId);
    });
    child.once('error', (error) => {
      this.options.logger.debug({ err: error }, 'container event stream failed; polling only');
    });
    child.once('exit', () => {
      if (this.closed) return;
      this.restartTimer = setTimeout(() => this.start(), this.options.restartDelayMs ?? 1000);
      this.restartTimer.unref();
    });
  }
}
