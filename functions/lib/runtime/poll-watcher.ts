/**
 * Container events found by polling the engine.
 *
 * Every interval, one `ps` call lists the runtime's containers and one
 * `inspect` call reads those whose exit has not been reported yet. Polling
 * was chosen over `podman events` / `docker events` because:
 * - the first poll finds containers that exited while no watcher ran, such
 *   as during a restart of the process, with the same code as later polls;
 * - a stream of events can end or lose entries (podman's file event log is
 *   rotated, journald may be absent), while a poll always sees the current
 *   state;
 * - podman and docker print events differently but `ps` and `inspect` alike.
 * The cost is latency: an exit is reported up to one interval late.
 *
 * A container that starts and exits within one interval is reported as
 * `exited` only. The listener is awaited, one event at a time; when it
 * throws, the event is delivered again on the next poll.
 */
import type { Logger } from '../logging.js';
import type {
  ContainerEvent,
  ContainerEventListener,
  ContainerStatus,
  ContainerWatch,
} from './runtime.js';
import type { ListedContainer } from './engine.js';

export interface PollingWatcherOptions {
  /** Lists every container the watch covers, with its coarse state. */
  list: () => Promise<ListedContainer[]>;
  /** Reads the status of containers; a container removed meanwhile is left out. */
  inspect: (ids: readonly string[]) => Promise<ContainerStatus[]>;
  /** Whether the runtime removed this container itself, which is no event. */
  removedByRuntime: (containerId: string) => boolean;
  /** Time between the end of one poll and the start of the next, in ms. */
  intervalMs: number;
  listener: ContainerEventListener;
  onError?: (error: unknown) => void;
  logger: Logger;
}

/**
 * Wait before a poll asked for while another ran, in milliseconds. When many
 * containers die together, one poll then serves several of them instead of
 * polls running back to back.
 */
const REPEAT_POLL_GAP_MS = 50;

/**
 * Delay before the containers announced as dead are inspected, in
 * milliseconds, so that containers that die together share one call.
 */
const HINT_BATCH_MS = 10;

/** The watch's record of one container. */
interface Seen {
  status: ContainerStatus;
  reported: 'nothing' | 'started' | 'exited';
}

/** A watch that polls until closed; the first poll starts at once. */
export class PollingWatcher implements ContainerWatch {
  private readonly seen = new Map<string, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;
  /** A poll was asked for while one ran; it starts as soon as that one ends. */
  private pollAgain = false;
  /** Containers being inspected and reported, which no other round takes up meanwhile. */
  private readonly busy = new Set<string>();
  /** Containers announced as dead and waiting for the next batch of inspections. */
  private readonly hinted = new Set<string>();
  private hintTimer: NodeJS.Timeout | undefined;
  /** The batches of inspections, one after another, which `close` waits for. */
  private inspecting: Promise<void> = Promise.resolve();

  constructor(private readonly options: PollingWatcherOptions) {
    this.schedule(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.hintTimer);
    await Promise.all([this.polling, this.inspecting]);
  }

  /**
   * Inspects a container soon and reports its exit, for example when the
   * engine announces that it died. Containers announced within
   * {@link HINT_BATCH_MS} share one `inspect` call, and no `ps` is needed.
   * When one has not exited yet, or the call fails, a poll follows.
   */
  inspectNow(containerId: string): void {
    if (this.closed || this.seen.get(containerId)?.reported === 'exited') return;
    this.hinted.add(containerId);
    this.hintTimer ??= setTimeout(() => {
      this.hintTimer = undefined;
      this.inspecting = this.inspecting.then(() => this.inspectHinted());
    }, HINT_BATCH_MS);
  }

  private async inspectHinted(): Promise<void> {
    const ids = [...this.hinted].filter((id) => !this.busy.has(id));
    this.hinted.clear();
    if (this.closed || ids.length === 0) return;
    for (const id of ids) this.busy.add(id);
    try {
      const statuses = await this.options.inspect(ids);
      for (const status of statuses) await this.record(status);
      if (statuses.some((status) => status.state !== 'exited')) this.pollNow();
    } catch {
      this.pollNow();
    } finally {
      for (const id of ids) this.busy.delete(id);
    }
  }

  /**
   * Polls at once instead of at the end of the interval, for example when
   * the engine announces that a container died. A poll under way is
   * followed by another {@link REPEAT_POLL_GAP_MS} after it.
   */
  pollNow(): void {
    if (this.closed) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    clearTimeout(this.timer);
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.polling = this.pollSafely().finally(() => {
        this.polling = undefined;
        const again = this.pollAgain;
        this.pollAgain = false;
        this.schedule(again ? REPEAT_POLL_GAP_MS : this.options.intervalMs);
      });
    }, delayMs);
  }

  private async pollSafely(): Promise<void> {
    try {
      await this.poll();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'polling the executor containers failed');
      this.options.onError?.(error);
    }
  }

  /** Runs one round: reports vanished containers, then starts and exits. */
  private async poll(): Promise<void> {
    const listed = await this.options.list();
    await this.reportDeleted(new Set(listed.map((container) => container.id)));

    // Only containers with something to report are inspected: a steady poll is one `ps`.
    const pending = listed
      .filter(({ id, state }) => {
        const reported = this.seen.get(id)?.reported;
        if (reported === 'exited' || this.busy.has(id)) return false;
        if (state === 'running') return reported !== 'started';
        return state === 'exited' || state === 'unknown';
      })
      .map(({ id }) => id);
    for (const id of pending) this.busy.add(id);
    try {
      const statuses = await this.options.inspect(pending);
      for (const status of statuses) await this.record(status);
    } finally {
      for (const id of pending) this.busy.delete(id);
    }
  }

  /** Records a container's status and reports its start or exit once. */
  private async record(status: ContainerStatus): Promise<void> {
    if (this.closed) return;
    const seen = this.seen.get(status.containerId) ?? { status, reported: 'nothing' };
    seen.status = status;
    this.seen.set(status.containerId, seen);
    if (status.state === 'exited') {
      if (await this.deliver({ type: 'exited', container: status })) seen.reported = 'exited';
    } else if (status.state === 'running' && seen.reported === 'nothing') {
      if (await this.deliver({ type: 'started', container: status })) seen.reported = 'started';
    }
  }

  private async reportDeleted(current: ReadonlySet<string>): Promise<void> {
    for (const [id, seen] of this.seen) {
      if (current.has(id) || this.closed) continue;
      const silent = seen.reported === 'exited' || this.options.removedByRuntime(id);
      // A failed delivery keeps the entry, so the next poll delivers it again.
      if (silent || (await this.deliver({ type: 'deleted', container: seen.status }))) {
        this.seen.delete(id);
      }
    }
  }

  /** Calls the listener; returns whether it accepted the event. */
  private async deliver(event: ContainerEvent): Promise<boolean> {
    const { taskId, executorIndex, containerId } = event.container;
    this.options.logger.debug(
      { taskId, executorIndex, containerId, containerEvent: event.type },
      'executor container event',
    );
    try {
      await this.options.listener(event);
      return true;
    } catch (error) {
      this.options.logger.warn(
        { err: error, taskId, executorIndex, containerEvent: event.type },
        'container event listener failed; the event is delivered again on the next poll',
      );
      return false;
    }
  }
}
