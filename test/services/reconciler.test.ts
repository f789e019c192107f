import { expect } from 'chai';
import { buildReconcileEvent } from '../../functions/lib/events/catalogue.js';
import type { TesState } from '../../functions/lib/tes/schemas.js';
import { createTorcApp } from '../../functions/torc/app.js';
import { eventually, serve, ServiceHarness } from './harness.js';

describe('services: reconciler', () => {
  let services: ServiceHarness;

  /** Returns the runtime methods called, in order. */
  function methodsCalled(): string[] {
    return services.runtime.calls.map((call) => call.method);
  }

  beforeEach(async () => {
    services = await ServiceHarness.start();
  });

  afterEach(async () => {
    await services.close();
  });

  describe('forced pass', () => {
    it('starts a QUEUED task', async () => {
      const { id } = await services.addTask();

      expect(await services.reconciler.reconcile(true)).to.equal(1);

      expect((await services.task(id)).state).to.equal('INITIALIZING');
      expect(services.runtime.hasVolume(id)).to.equal(true);
      expect(services.publisher.typesFor(id)).to.deep.equal(['task.initialized']);
    });

    it('resumes an INITIALIZING task', async () => {
      const { id } = await services.addTask({ state: 'INITIALIZING' });

      expect(await services.reconciler.reconcile(true)).to.equal(1);

      expect((await services.task(id)).state).to.equal('INITIALIZING');
      expect(services.runtime.hasVolume(id)).to.equal(true);
      expect(services.publisher.typesFor(id)).to.deep.equal(['task.initialized']);
    });

    it('leaves INITIALIZING alone while its input filer runs', async () => {
      const task = await services.addTask({
        state: 'INITIALIZING',
        inputs: [{ path: '/data/in.txt', content: 'hello\n' }],
      });
      services.filers.start('inputs', task);

      expect(await services.reconciler.reconcile(true)).to.equal(0);

      expect(methodsCalled()).to.deep.equal(['listTaskIds']);
      expect(services.publisher.events).to.deep.equal([]);
    });

    it('resumes a RUNNING task with inputs.staged from torc', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });

      expect(await services.reconciler.reconcile(true)).to.equal(1);

      const staged = services.publisher.ofType('inputs.staged', id);
      expect(staged.map((event) => event.source)).to.deep.equal(['/poiesis/torc']);
      expect(staged[0]?.id).to.equal(`${id}.inputs.staged`);
      expect((await services.task(id)).state).to.equal('RUNNING');
    });

    it('leaves RUNNING alone while its output filer runs', async () => {
      const task = await services.addTask({
        state: 'RUNNING',
        outputs: [{ path: '/data/out.txt', url: 'file:///results/out.txt' }],
      });
      services.filers.start('outputs', task);

      expect(await services.reconciler.reconcile(true)).to.equal(0);

      expect(services.publisher.events).to.deep.equal([]);
    });

    it('finishes a CANCELING task', async () => {
      const task = await services.addTask({ state: 'CANCELING' });
      await services.runtime.createVolume(task);

      expect(await services.reconciler.reconcile(true)).to.equal(1);
      await eventually(async () => (await services.task(task.id)).state === 'CANCELED');

      expect(services.runtime.hasVolume(task.id)).to.equal(false);
      expect(services.filers.canceled).to.deep.equal([task.id]);
    });

    it('repairs every active task in one pass', async () => {
      const states: TesState[] = ['QUEUED', 'INITIALIZING', 'RUNNING', 'CANCELING'];
      for (const state of states) await services.addTask({ state });

      expect(await services.reconciler.reconcile(true)).to.equal(states.length);
    });

    it('ignores finished tasks', async () => {
      const states: TesState[] = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];
      for (const state of states) await services.addTask({ state });

      expect(await services.reconciler.reconcile(true)).to.equal(0);

      expect(methodsCalled()).to.deep.equal(['listTaskIds']);
      expect(services.publisher.events).to.deep.equal([]);
    });

    it('goes on after a task fails to repair', async () => {
      const running = await services.addTask({ state: 'RUNNING' });
      const canceling = await services.addTask({ state: 'CANCELING' });
      services.publisher.failure = new Error('broker unreachable');

      expect(await services.reconciler.reconcile(true)).to.equal(1);
      await eventually(async () => (await services.task(canceling.id)).state === 'CANCELED');

      expect((await services.task(running.id)).state).to.equal('RUNNING');
    });
  });

  describe('unforced pass', () => {
    it('first pass repairs nothing', async () => {
      await services.addTask();
      await services.addTask({ state: 'RUNNING' });

      expect(await services.reconciler.reconcile()).to.equal(0);

      expect(methodsCalled()).to.deep.equal(['listTaskIds']);
      expect(services.publisher.events).to.deep.equal([]);
    });

    it('repairs tasks unchanged since the last pass', async () => {
      const queued = await services.addTask();
      const running = await services.addTask({ state: 'RUNNING' });
      await services.reconciler.reconcile();

      expect(await services.reconciler.reconcile()).to.equal(2);

      expect(services.publisher.typesFor(queued.id)).to.deep.equal(['task.initialized']);
      expect(services.publisher.typesFor(running.id)).to.deep.equal(['inputs.staged']);
    });

    it('skips a task whose executor runs', async () => {
      const task = await services.addTask({
        state: 'RUNNING',
        executorLogs: [{ exit_code: -1, start_time: services.clock.iso() }],
      });
      services.runtime.putContainer({
        taskId: task.id,
        executorIndex: 0,
        image: 'alpine',
        state: 'running',
      });
      await services.reconciler.reconcile();

      expect(await services.reconciler.reconcile()).to.equal(0);
      expect(services.publisher.typesFor(task.id)).to.deep.equal([]);
    });

    it('skips a task whose state changed', async () => {
      const { id } = await services.addTask();
      await services.reconciler.reconcile();
      await services.store.transition(id, { from: ['QUEUED'], to: 'INITIALIZING' });

      expect(await services.reconciler.reconcile()).to.equal(0);
      expect(await services.reconciler.reconcile()).to.equal(1);
    });

    it('skips a task whose executor finished', async () => {
      const { id } = await services.addTask({
        state: 'RUNNING',
        executorLogs: [{ exit_code: 0, start_time: services.clock.iso() }],
      });
      await services.reconciler.reconcile();
      await services.store.updateLog(id, {
        executor: { index: 0, log: { end_time: services.clock.iso() } },
      });

      expect(await services.reconciler.reconcile()).to.equal(0);
      expect(services.publisher.events).to.deep.equal([]);
      expect(await services.reconciler.reconcile()).to.equal(1);
    });

    it('skips a task whose next executor started', async () => {
      const { id } = await services.addTask({
        state: 'RUNNING',
        executorLogs: [{ exit_code: 0, end_time: services.clock.iso() }],
      });
      await services.reconciler.reconcile();
      await services.store.updateLog(id, {
        executor: { index: 1, log: { start_time: services.clock.iso() } },
      });

      expect(await services.reconciler.reconcile()).to.equal(0);
    });

    it('skips a task whose outputs were filed', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });
      await services.reconciler.reconcile();
      await services.store.updateLog(id, {
        outputs: [{ url: 'file:///results/a.txt', path: '/data/a.txt', size_bytes: '1' }],
      });

      expect(await services.reconciler.reconcile()).to.equal(0);
    });
  });

  describe('leftovers', () => {
    for (const state of ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'] as TesState[]) {
      it(`of a ${state} task are removed`, async () => {
        const task = await services.addTask({ state });
        await services.runtime.createVolume(task);
        await services.runtime.startExecutor(task, 0);

        expect(await services.reconciler.reconcile()).to.equal(1);
        await services.settle();

        expect(services.runtime.hasVolume(task.id)).to.equal(false);
        expect(services.runtime.container({ taskId: task.id, executorIndex: 0 })).to.equal(
          undefined,
        );
        expect((await services.task(task.id)).state).to.equal(state);
      });
    }

    it('of an unknown task are removed', async () => {
      const task = await services.addTask({ state: 'COMPLETE' });
      await services.runtime.createVolume({ ...task, id: 'not-a-stored-task' });

      expect(await services.reconciler.reconcile()).to.equal(1);
      await services.settle();

      expect(services.runtime.hasVolume('not-a-stored-task')).to.equal(false);
    });

    it('of active tasks are kept', async () => {
      for (const state of ['QUEUED', 'INITIALIZING', 'RUNNING', 'CANCELING'] as TesState[]) {
        const task = await services.addTask({ state });
        await services.runtime.createVolume(task);
      }

      expect(await services.reconciler.reconcile()).to.equal(0);
      await services.settle();

      expect(services.runtime.callsOf('removeTask')).to.deep.equal([]);
    });

    it('volume created during a cancel is removed at once', async () => {
      const { id } = await services.addTask();
      const hold = services.runtime.holdVolume(id);
      const starting = services.orchestrator.startTask(id);
      await hold.reached;
      await services.store.transition(id, { from: ['INITIALIZING'], to: 'CANCELING' });
      await services.orchestrator.cancelTask(id);
      await eventually(async () => (await services.task(id)).state === 'CANCELED');
      hold.release();
      await starting;
      await services.settle();

      expect(services.runtime.hasVolume(id)).to.equal(false);
      expect(services.publisher.typesFor(id)).to.not.include('task.initialized');
      expect((await services.task(id)).state).to.equal('CANCELED');
    });

    it('failed listing leaves the repairs done', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });
      services.runtime.failCalls('listTaskIds', new Error('engine not responding'));

      expect(await services.reconciler.reconcile(true)).to.equal(1);

      expect(services.publisher.typesFor(id)).to.deep.equal(['inputs.staged']);
    });
  });

  it('unforced call during a pass joins it', async () => {
    const { id } = await services.addTask({ state: 'RUNNING' });

    const first = services.reconciler.reconcile(true);
    const second = services.reconciler.reconcile();

    expect(second).to.equal(first);
    expect(await first).to.equal(1);
    expect(services.publisher.typesFor(id)).to.deep.equal(['inputs.staged']);
  });

  it('forced call during a pass runs after it', async () => {
    const { id } = await services.addTask({ state: 'RUNNING' });

    const first = services.reconciler.reconcile();
    const forced = services.reconciler.reconcile(true);

    expect(await first).to.equal(0);
    expect(await forced).to.equal(1);
    expect(services.publisher.typesFor(id)).to.deep.equal(['inputs.staged']);
  });

  it('reconcile.requested runs unforced passes', async () => {
    const { orchestrator, reconciler } = services;
    const torc = await serve(createTorcApp({ orchestrator, reconciler }));
    try {
      const { id } = await services.addTask();

      // The first pass only notes the progress of each task, and the second repairs the stalled ones.
      expect((await torc.deliver(buildReconcileEvent(services.clock.now()))).status).to.equal(202);
      expect(services.publisher.events).to.deep.equal([]);
      services.clock.advance(30_000);
      expect((await torc.deliver(buildReconcileEvent(services.clock.now()))).status).to.equal(202);

      await eventually(async () => (await services.task(id)).state === 'INITIALIZING');
      expect(services.publisher.typesFor(id)).to.deep.equal(['task.initialized']);
    } finally {
      await torc.close();
    }
  });
});
