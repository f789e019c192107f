import { expect } from 'chai';
import { buildEvent, buildReconcileEvent } from '../../functions/lib/events/catalogue.js';
import { withDeliveryFailure } from '../../functions/lib/events/dead-letter.js';
import type { TesState } from '../../functions/lib/tes/schemas.js';
import { createTorcApp } from '../../functions/torc/app.js';
import { eventually, serve, ServiceHarness, type ServedApp } from './harness.js';

describe('services: torc', () => {
  let services: ServiceHarness;
  let torc: ServedApp;

  beforeEach(async () => {
    services = await ServiceHarness.start();
    const { orchestrator, reconciler } = services;
    torc = await serve(createTorcApp({ orchestrator, reconciler }));
  });

  afterEach(async () => {
    await torc.close();
    await services.close();
  });

  describe('task.created', () => {
    it('moves QUEUED to INITIALIZING', async () => {
      const { id } = await services.addTask();
      services.clock.advance(1000);

      const response = await torc.deliver(buildEvent('task.created', id, {}));

      expect(response.status).to.equal(202);
      const task = await services.task(id);
      expect(task.state).to.equal('INITIALIZING');
      expect(task.logs?.[0]?.start_time).to.equal(services.clock.iso());
      expect(services.runtime.hasVolume(id)).to.equal(true);
      const initialized = services.publisher.ofType('task.initialized', id);
      expect(initialized).to.have.length(1);
      expect(initialized[0]!.id).to.equal(`${id}.task.initialized`);
      expect(initialized[0]!.source).to.equal('/poiesis/torc');
    });

    it('duplicate keeps the first start time', async () => {
      const { id } = await services.addTask();
      await torc.deliver(buildEvent('task.created', id, {}));
      const first = await services.task(id);
      services.clock.advance(5000);

      const response = await torc.deliver(buildEvent('task.created', id, {}));

      expect(response.status).to.equal(202);
      expect(await services.task(id)).to.deep.equal(first);
      expect(services.runtime.hasVolume(id)).to.equal(true);
      const ids = services.publisher.ofType('task.initialized', id).map((event) => event.id);
      expect(ids).to.deep.equal([`${id}.task.initialized`, `${id}.task.initialized`]);
    });

    it('duplicate after RUNNING changes nothing', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });
      const before = await services.task(id);

      const response = await torc.deliver(buildEvent('task.created', id, {}));

      expect(response.status).to.equal(202);
      expect(await services.task(id)).to.deep.equal(before);
      expect(services.runtime.calls).to.deep.equal([]);
      expect(services.publisher.events).to.deep.equal([]);
    });

    for (const state of ['CANCELED', 'CANCELING'] as TesState[]) {
      it(`task ${state} meanwhile is left alone`, async () => {
        const { id } = await services.addTask({ state });
        const before = await services.task(id);

        const response = await torc.deliver(buildEvent('task.created', id, {}));

        expect(response.status).to.equal(202);
        expect(await services.task(id)).to.deep.equal(before);
        expect(services.runtime.calls).to.deep.equal([]);
        expect(services.publisher.events).to.deep.equal([]);
      });
    }

    it('volume failure ends in SYSTEM_ERROR', async () => {
      const { id } = await services.addTask();
      services.runtime.failCalls('createVolume', new Error('no space left on device'));

      const response = await torc.deliver(buildEvent('task.created', id, {}));
      await services.settle();

      expect(response.status).to.equal(202);
      const task = await services.task(id);
      expect(task.state).to.equal('SYSTEM_ERROR');
      expect(task.logs?.[0]?.system_logs).to.deep.equal([
        'VolumeCreationFailed: creating the task volume failed: no space left on device',
      ]);
      expect(services.publisher.ofType('task.initialized')).to.deep.equal([]);
      expect(services.runtime.callsOf('removeTask', id)).to.have.length(1);
    });

    it('unknown task is 400', async () => {
      const response = await torc.deliver(buildEvent('task.created', 'missing-task', {}));

      expect(response.status).to.equal(400);
      expect(JSON.parse(response.body).msg).to.equal('task missing-task not found');
    });
  });

  describe('outputs.filed', () => {
    const outputs = [
      { url: 'file:///results/a.txt', path: '/data/out/a.txt', size_bytes: '12' },
      { url: 'file:///results/b.txt', path: '/data/out/b.txt', size_bytes: '0' },
    ];

    it('completes the task and removes its resources', async () => {
      const task = await services.addTask({
        state: 'RUNNING',
        executorLogs: [{ exit_code: 0, start_time: services.clock.iso() }],
      });
      await services.runtime.createVolume(task);
      await services.runtime.startExecutor(task, 0);
      services.runtime.exit({ taskId: task.id, executorIndex: 0 }, 0);
      services.clock.advance(2000);

      const response = await torc.deliver(buildEvent('outputs.filed', task.id, { outputs }));
      await services.settle();

      expect(response.status).to.equal(202);
      const stored = await services.task(task.id);
      expect(stored.state).to.equal('COMPLETE');
      expect(stored.logs?.[0]?.outputs).to.deep.equal(outputs);
      expect(stored.logs?.[0]?.end_time).to.equal(services.clock.iso());
      expect(services.filers.canceled).to.deep.equal([task.id]);
      expect(services.runtime.callsOf('removeTask', task.id)).to.have.length(1);
      expect(services.runtime.hasVolume(task.id)).to.equal(false);
      expect(services.runtime.container({ taskId: task.id, executorIndex: 0 })).to.equal(undefined);
    });

    it('duplicate changes nothing', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });
      await torc.deliver(buildEvent('outputs.filed', id, { outputs }));
      await services.settle();
      const first = await services.task(id);
      services.clock.advance(1000);

      const response = await torc.deliver(buildEvent('outputs.filed', id, { outputs: [] }));
      await services.settle();

      expect(response.status).to.equal(202);
      expect(await services.task(id)).to.deep.equal(first);
      expect(services.runtime.callsOf('removeTask', id)).to.have.length(1);
    });

    it('omitted files noted in system logs', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });

      await torc.deliver(buildEvent('outputs.filed', id, { outputs, omitted: 3 }));
      await services.settle();

      const stored = await services.task(id);
      expect(stored.state).to.equal('COMPLETE');
      expect(stored.logs?.[0]?.outputs).to.deep.equal(outputs);
      expect(stored.logs?.[0]?.system_logs).to.deep.equal([
        'the output log lists 2 of 5 filed files; the other 3 were filed too but do not fit in the log',
      ]);
    });

    it('for a CANCELING task changes nothing', async () => {
      const { id } = await services.addTask({ state: 'CANCELING' });
      const before = await services.task(id);

      const response = await torc.deliver(buildEvent('outputs.filed', id, { outputs }));
      await services.settle();

      expect(response.status).to.equal(202);
      expect(await services.task(id)).to.deep.equal(before);
      expect(services.runtime.calls).to.deep.equal([]);
    });
  });

  describe('task.failed', () => {
    const failure = {
      state: 'SYSTEM_ERROR' as const,
      reason: 'InputStagingFailed',
      message: 'staging inputs failed: file:///in/data.txt not found',
    };

    for (const state of ['QUEUED', 'INITIALIZING', 'RUNNING'] as TesState[]) {
      it(`${state} ends with the reason`, async () => {
        const { id } = await services.addTask({ state });
        services.clock.advance(3000);

        const response = await torc.deliver(
          buildEvent('task.failed', id, failure, { producer: 'tif' }),
        );
        await services.settle();

        expect(response.status).to.equal(202);
        const task = await services.task(id);
        expect(task.state).to.equal('SYSTEM_ERROR');
        expect(task.logs?.[0]?.system_logs).to.deep.equal([
          'InputStagingFailed: staging inputs failed: file:///in/data.txt not found',
        ]);
        expect(task.logs?.[0]?.end_time).to.equal(services.clock.iso());
        expect(services.filers.canceled).to.deep.equal([id]);
        expect(services.runtime.callsOf('removeTask', id)).to.have.length(1);
      });
    }

    for (const state of ['COMPLETE', 'EXECUTOR_ERROR', 'CANCELED', 'CANCELING'] as TesState[]) {
      it(`${state} is left alone`, async () => {
        const { id } = await services.addTask({ state });
        const before = await services.task(id);

        const response = await torc.deliver(
          buildEvent('task.failed', id, failure, { producer: 'runtime' }),
        );
        await services.settle();

        expect(response.status).to.equal(202);
        expect(await services.task(id)).to.deep.equal(before);
        expect(services.runtime.calls).to.deep.equal([]);
      });
    }

    /** Delivers the `task.failed` that TExAM sends for an executor that exited with 2. */
    async function deliverExecutorFailed(id: string): Promise<void> {
      await torc.deliver(
        buildEvent(
          'task.failed',
          id,
          { state: 'EXECUTOR_ERROR', reason: 'ExecutorFailed', message: 'exit code 2' },
          { producer: 'texam' },
        ),
      );
    }

    it('EXECUTOR_ERROR of a RUNNING task stays', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });

      await deliverExecutorFailed(id);

      expect((await services.task(id)).state).to.equal('EXECUTOR_ERROR');
    });

    it('EXECUTOR_ERROR not RUNNING becomes SYSTEM_ERROR', async () => {
      const { id } = await services.addTask({ state: 'INITIALIZING' });

      await deliverExecutorFailed(id);

      const task = await services.task(id);
      expect(task.state).to.equal('SYSTEM_ERROR');
      expect(task.logs?.[0]?.system_logs).to.deep.equal(['ExecutorFailed: exit code 2']);
    });

    it('unknown task is 400', async () => {
      const event = buildEvent('task.failed', 'missing-task', failure, { producer: 'tof' });

      const response = await torc.deliver(event);

      expect(response.status).to.equal(400);
    });
  });

  describe('cancel.requested', () => {
    it('removes everything and ends CANCELED', async () => {
      const task = await services.addTask({
        state: 'RUNNING',
        executors: [
          { image: 'alpine', command: ['true'] },
          { image: 'alpine', command: ['sleep', '60'] },
        ],
        outputs: [{ url: 'file:///results/', path: '/data/out', type: 'DIRECTORY' }],
      });
      await services.runtime.createVolume(task);
      await services.runtime.startExecutor(task, 0);
      await services.runtime.startExecutor(task, 1);
      services.filers.start('outputs', task);
      await services.store.transition(task.id, { from: ['RUNNING'], to: 'CANCELING' });
      services.clock.advance(4000);

      const response = await torc.deliver(buildEvent('cancel.requested', task.id, {}));
      await eventually(async () => (await services.task(task.id)).state === 'CANCELED');

      expect(response.status).to.equal(202);
      expect(services.filers.canceled).to.deep.equal([task.id]);
      expect(services.filers.isRunning('outputs', task.id)).to.equal(false);
      expect(services.runtime.hasVolume(task.id)).to.equal(false);
      expect(await services.runtime.listContainers(task.id)).to.deep.equal([]);
      const stored = await services.task(task.id);
      expect(stored.logs?.[0]?.end_time).to.equal(services.clock.iso());
    });

    it('ends the running executor log without an exit', async () => {
      const task = await services.addTask({
        state: 'RUNNING',
        executorLogs: [{ exit_code: -1, start_time: services.clock.iso() }],
      });
      await services.store.transition(task.id, { from: ['RUNNING'], to: 'CANCELING' });
      services.clock.advance(1000);

      await torc.deliver(buildEvent('cancel.requested', task.id, {}));
      await eventually(async () => (await services.task(task.id)).state === 'CANCELED');

      const [log] = (await services.task(task.id)).logs?.[0]?.logs ?? [];
      expect(log?.exit_code).to.equal(-1);
      expect(log?.end_time).to.equal(services.clock.iso());
    });

    it('for a task not CANCELING does nothing', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });

      const response = await torc.deliver(buildEvent('cancel.requested', id, {}));
      await services.settle();

      expect(response.status).to.equal(202);
      expect((await services.task(id)).state).to.equal('RUNNING');
      expect(services.runtime.calls).to.deep.equal([]);
      expect(services.filers.canceled).to.deep.equal([]);
    });
  });

  describe('dead letters', () => {
    it('end the task with EventDeliveryFailed', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });
      const event = withDeliveryFailure(buildEvent('executors.done', id, {}), {
        destination: 'http://127.0.0.1:8080/tof',
        status: 503,
        data: Buffer.from('filer queue full'),
      });

      const response = await torc.deliver(event, '/dead-letter');
      await services.settle();

      expect(response.status).to.equal(202);
      const task = await services.task(id);
      expect(task.state).to.equal('SYSTEM_ERROR');
      expect(task.logs?.[0]?.system_logs).to.deep.equal([
        'EventDeliveryFailed: event executors.done could not be delivered to ' +
          'http://127.0.0.1:8080/tof (last status 503: filer queue full)',
      ]);
      expect(services.runtime.callsOf('removeTask', id)).to.have.length(1);
    });

    it('without a response name the network error', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });
      const event = withDeliveryFailure(buildEvent('executors.done', id, {}), {
        destination: 'http://127.0.0.1:8080/tof',
        data: Buffer.from('connect ECONNREFUSED 127.0.0.1:8080'),
      });

      const response = await torc.deliver(event, '/dead-letter');

      expect(response.status).to.equal(202);
      const task = await services.task(id);
      expect(task.state).to.equal('SYSTEM_ERROR');
      expect(task.logs?.[0]?.system_logs).to.deep.equal([
        'EventDeliveryFailed: event executors.done could not be delivered to ' +
          'http://127.0.0.1:8080/tof (connect ECONNREFUSED 127.0.0.1:8080)',
      ]);
    });

    it('without failure details still end the task', async () => {
      const { id } = await services.addTask({ state: 'INITIALIZING' });

      const response = await torc.deliver(buildEvent('task.initialized', id, {}), '/dead-letter');

      expect(response.status).to.equal(202);
      const task = await services.task(id);
      expect(task.state).to.equal('SYSTEM_ERROR');
      expect(task.logs?.[0]?.system_logs).to.deep.equal([
        'EventDeliveryFailed: event task.initialized could not be delivered',
      ]);
    });

    it('subject all is ignored', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });
      const before = await services.task(id);
      const event = withDeliveryFailure(buildReconcileEvent(services.clock.now()), {
        destination: 'http://127.0.0.1:8080/torc',
        status: 500,
      });

      const response = await torc.deliver(event, '/dead-letter');
      await services.settle();

      expect(response.status).to.equal(202);
      expect(await services.task(id)).to.deep.equal(before);
      expect(services.runtime.calls).to.deep.equal([]);
      expect(services.publisher.events).to.deep.equal([]);
    });

    it('of a finished task change nothing', async () => {
      const { id } = await services.addTask({ state: 'COMPLETE' });
      const before = await services.task(id);

      const response = await torc.deliver(
        buildEvent('outputs.filed', id, { outputs: [] }),
        '/dead-letter',
      );

      expect(response.status).to.equal(202);
      expect(await services.task(id)).to.deep.equal(before);
    });

    it('unknown task is 400', async () => {
      const response = await torc.deliver(
        buildEvent('task.created', 'missing-task', {}),
        '/dead-letter',
      );

      expect(response.status).to.equal(400);
    });
  });

  describe('routes', () => {
    it('event type of another service is 400', async () => {
      const { id } = await services.addTask({ state: 'INITIALIZING' });

      const response = await torc.deliver(buildEvent('inputs.staged', id, {}, { producer: 'tif' }));

      expect(response.status).to.equal(400);
      expect(JSON.parse(response.body).msg).to.include('no handler for inputs.staged');
    });

    it('unknown path is 404', async () => {
      const { id } = await services.addTask();

      const response = await torc.deliver(buildEvent('task.created', id, {}), '/elsewhere');

      expect(response.status).to.equal(404);
      expect((await services.task(id)).state).to.equal('QUEUED');
    });
  });
});
