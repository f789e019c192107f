import { expect } from 'chai';
import { pino } from 'pino';
import { PollingWatcher } from '../../functions/lib/runtime/poll-watcher.js';
import type { ContainerEvent, ContainerStatus } from '../../functions/lib/runtime/runtime.js';

const INTERVAL_MS = 5;

/** Containers as a fake engine reports them; tests change them between polls. */
class FakeContainers {
  readonly statuses = new Map<string, ContainerStatus>();
  readonly removedByRuntime = new Set<string>();
  failNextList = false;
  lists = 0;
  inspects = 0;
  /** Delay of each inspect call, to let a poll and an inspection overlap. */
  inspectDelayMs = 0;

  set(id: string, state: ContainerStatus['state'], exitCode?: number): void {
    this.statuses.set(id, {
      taskId: 't',
      executorIndex: 0,
      containerId: id,
      name: `n-${id}`,
      image: 'alpine',
      state,
      ...(exitCode === undefined ? {} : { exitCode }),
    });
  }

  watch(
    listener: (event: ContainerEvent) => void | Promise<void>,
    onError?: () => void,
    intervalMs = INTERVAL_MS,
  ) {
    return new PollingWatcher({
      list: () => {
        this.lists++;
        if (this.failNextList) {
          this.failNextList = false;
          return Promise.reject(new Error('engine busy'));
        }
        return Promise.resolve(
          [...this.statuses.values()].map((status) => ({
            id: status.containerId,
            name: status.name,
            state: status.state,
          })),
        );
      },
      inspect: async (ids) => {
        this.inspects++;
        if (this.inspectDelayMs > 0) await wait(this.inspectDelayMs);
        return ids.flatMap((id) => (this.statuses.has(id) ? [this.statuses.get(id)!] : []));
      },
      removedByRuntime: (id) => this.removedByRuntime.has(id),
      intervalMs,
      listener,
      onError,
      logger: pino({ level: 'silent' }),
    });
  }
}

function wait(ms = INTERVAL_MS * 10): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function summary(events: ContainerEvent[]): string[] {
  return events.map((event) => `${event.type}:${event.container.containerId}`);
}

describe('PollingWatcher', function () {
  let containers: FakeContainers;
  let events: ContainerEvent[];

  beforeEach(function () {
    containers = new FakeContainers();
    events = [];
  });

  it('first poll reports running and already exited containers', async function () {
    containers.set('a', 'running');
    containers.set('b', 'exited', 4);
    containers.set('c', 'created');
    const watch = containers.watch((event) => void events.push(event));
    await wait();
    await watch.close();
    expect(summary(events)).to.deep.equal(['started:a', 'exited:b']);
    expect(events[1]!.container.exitCode).to.equal(4);
  });

  it('start then exit reported once each', async function () {
    const watch = containers.watch((event) => void events.push(event));
    containers.set('a', 'created');
    await wait();
    containers.set('a', 'running');
    await wait();
    containers.set('a', 'exited', 0);
    await wait();
    await watch.close();
    expect(summary(events)).to.deep.equal(['started:a', 'exited:a']);
  });

  it('container gone without an exit reported as deleted', async function () {
    containers.set('a', 'running');
    const watch = containers.watch((event) => void events.push(event));
    await wait();
    containers.statuses.delete('a');
    await wait();
    await watch.close();
    expect(summary(events)).to.deep.equal(['started:a', 'deleted:a']);
  });

  it('removal by the runtime not reported', async function () {
    containers.set('a', 'running');
    const watch = containers.watch((event) => void events.push(event));
    await wait();
    containers.removedByRuntime.add('a');
    containers.statuses.delete('a');
    await wait();
    await watch.close();
    expect(summary(events)).to.deep.equal(['started:a']);
  });

  it('removal after the exit not reported', async function () {
    containers.set('a', 'exited', 1);
    const watch = containers.watch((event) => void events.push(event));
    await wait();
    containers.statuses.delete('a');
    await wait();
    await watch.close();
    expect(summary(events)).to.deep.equal(['exited:a']);
  });

  it('failed listener call delivered again', async function () {
    containers.set('a', 'exited', 2);
    let failures = 2;
    const watch = containers.watch((event) => {
      if (failures > 0) {
        failures--;
        throw new Error('broker down');
      }
      events.push(event);
    });
    await wait(INTERVAL_MS * 20);
    await watch.close();
    expect(summary(events)).to.deep.equal(['exited:a']);
    expect(failures).to.equal(0);
  });

  it('engine failure reported and polling goes on', async function () {
    const errors: unknown[] = [];
    containers.failNextList = true;
    containers.set('a', 'exited', 0);
    const watch = containers.watch(
      (event) => void events.push(event),
      () => void errors.push('error'),
    );
    await wait();
    await watch.close();
    expect(errors).to.have.length(1);
    expect(summary(events)).to.deep.equal(['exited:a']);
  });

  it('nothing delivered after close', async function () {
    const watch = containers.watch((event) => void events.push(event));
    await wait();
    await watch.close();
    containers.set('a', 'exited', 0);
    await wait();
    expect(events).to.deep.equal([]);
  });

  describe('inspectNow', function () {
    const SLOW_INTERVAL_MS = 60_000;

    /** Starts a watch whose only poll is the first one, so later reports come from inspectNow. */
    function slowWatch() {
      return containers.watch((event) => void events.push(event), undefined, SLOW_INTERVAL_MS);
    }

    it('reports an exit without a poll', async function () {
      const watch = slowWatch();
      await wait();
      containers.set('a', 'exited', 0);
      const listsBefore = containers.lists;

      watch.inspectNow('a');
      await wait();
      await watch.close();

      expect(summary(events)).to.deep.equal(['exited:a']);
      expect(containers.lists).to.equal(listsBefore);
    });

    it('running container leads to a poll', async function () {
      const watch = slowWatch();
      await wait();
      containers.set('a', 'running');
      const listsBefore = containers.lists;

      watch.inspectNow('a');
      await wait();
      await watch.close();

      expect(summary(events)).to.deep.equal(['started:a']);
      expect(containers.lists).to.equal(listsBefore + 1);
    });

    it('exit reported once when a poll overlaps', async function () {
      containers.set('a', 'exited', 3);
      containers.inspectDelayMs = 30;
      const watch = slowWatch();
      await wait(5);

      watch.inspectNow('a');
      watch.inspectNow('a');
      await wait(100);
      await watch.close();

      expect(summary(events)).to.deep.equal(['exited:a']);
    });

    it('already reported exit not inspected again', async function () {
      containers.set('a', 'exited', 0);
      const watch = slowWatch();
      await wait();
      const inspectsBefore = containers.inspects;

      watch.inspectNow('a');
      await wait();
      await watch.close();

      expect(summary(events)).to.deep.equal(['exited:a']);
      expect(containers.inspects).to.equal(inspectsBefore);
    });

    it('close waits for an inspection', async function () {
      containers.inspectDelayMs = 30;
      const watch = slowWatch();
      await wait(40);
      containers.set('a', 'exited', 0);

      watch.inspectNow('a');
      await wait(15);
      await watch.close();

      expect(containers.inspects).to.equal(2);
      expect(summary(events)).to.deep.equal([]);
    });

    it('containers dying together share one inspect', async function () {
      const watch = slowWatch();
      await wait();
      const inspectsBefore = containers.inspects;
      for (const id of ['a', 'b', 'c']) containers.set(id, 'exited', 0);

      for (const id of ['a', 'b', 'c']) watch.inspectNow(id);
      await wait();
      await watch.close();

      expect(summary(events)).to.deep.equal(['exited:a', 'exited:b', 'exited:c']);
      expect(containers.inspects).to.equal(inspectsBefore + 1);
    });
  });
});
