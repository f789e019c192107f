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

  watch(listener: (event: ContainerEvent) => void | Promise<void>, onError?: () => void) {
    return new PollingWatcher({
      list: () => {
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
      inspect: (ids) =>
        Promise.resolve(
          ids.flatMap((id) => (this.statuses.has(id) ? [this.statuses.get(id)!] : [])),
        ),
      removedByRuntime: (id) => this.removedByRuntime.has(id),
      intervalMs: INTERVAL_MS,
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
});
