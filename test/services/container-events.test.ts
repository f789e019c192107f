import { expect } from 'chai';
import type { ContainerStatus } from '../../functions/lib/runtime/runtime.js';
import { publishContainerEvents } from '../../functions/texam/container-events.js';
import { silentLogger } from '../events/helpers.js';
import { FakeRuntime } from './fake-runtime.js';
import { RecordingPublisher } from './recording-publisher.js';

const RUNNING: ContainerStatus = {
  taskId: '01jtask0000000000000000000',
  executorIndex: 1,
  containerId: 'fake-1',
  name: 'poiesis-01jtask0000000000000000000-1',
  image: 'alpine',
  state: 'running',
  startTime: '2026-03-04T05:06:07.000Z',
};

describe('services: container events', () => {
  let runtime: FakeRuntime;
  let publisher: RecordingPublisher;

  beforeEach(() => {
    runtime = new FakeRuntime();
    publisher = new RecordingPublisher();
  });

  it('exit is sent as executor.exited', async () => {
    const watch = publishContainerEvents(runtime, publisher, silentLogger);
    const container: ContainerStatus = {
      ...RUNNING,
      state: 'exited',
      exitCode: 137,
      endTime: '2026-03-04T05:07:00.000Z',
      reason: 'OOMKilled',
    };

    await runtime.emit({ type: 'exited', container });
    await watch.close();

    const [event] = publisher.events;
    expect(publisher.events).to.have.length(1);
    expect(event?.type).to.equal('executor.exited');
    expect(event?.id).to.equal(`${RUNNING.taskId}.executor.exited.1`);
    expect(event?.subject).to.equal(RUNNING.taskId);
    expect(event?.source).to.equal('/poiesis/runtime');
    expect(event?.data).to.deep.equal({
      index: 1,
      exitCode: 137,
      startTime: '2026-03-04T05:06:07.000Z',
      endTime: '2026-03-04T05:07:00.000Z',
      reason: 'OOMKilled',
    });
  });

  it('exit without times sends no times', async () => {
    const watch = publishContainerEvents(runtime, publisher, silentLogger);
    const { startTime: _startTime, ...container } = RUNNING;

    await runtime.emit({
      type: 'exited',
      container: { ...container, state: 'exited', exitCode: 0 },
    });
    await watch.close();

    expect(publisher.events[0]?.data).to.deep.equal({ index: 1, exitCode: 0 });
  });

  it('deleted container is sent as task.failed', async () => {
    const watch = publishContainerEvents(runtime, publisher, silentLogger);

    await runtime.emit({ type: 'deleted', container: RUNNING });
    await watch.close();

    expect(publisher.ofType('task.failed').map((event) => event.data)).to.deep.equal([
      {
        state: 'SYSTEM_ERROR',
        reason: 'ExecutorContainerLost',
        message: 'the container of executor 1 disappeared before it exited',
      },
    ]);
  });

  it('start sends nothing', async () => {
    const watch = publishContainerEvents(runtime, publisher, silentLogger);

    await runtime.emit({ type: 'started', container: RUNNING });
    await watch.close();

    expect(publisher.events).to.deep.equal([]);
  });

  it('closed watch sends nothing', async () => {
    const watch = publishContainerEvents(runtime, publisher, silentLogger);
    await watch.close();

    await runtime.emit({ type: 'exited', container: { ...RUNNING, state: 'exited', exitCode: 0 } });

    expect(publisher.events).to.deep.equal([]);
  });

  it('failed publish rejects so the watch redelivers', async () => {
    const watch = publishContainerEvents(runtime, publisher, silentLogger);
    publisher.failure = new Error('broker unreachable');

    const emitted = runtime.emit({
      type: 'exited',
      container: { ...RUNNING, state: 'exited', exitCode: 0 },
    });

    await expectRejection(emitted, 'broker unreachable');
    await watch.close();
  });
});

async function expectRejection(promise: Promise<unknown>, message: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.equal(message);
    return;
  }
  expect.fail('expected a rejection');
}
