import { expect } from 'chai';
import { CloudEvent } from 'cloudevents';
import { buildEvent } from '../../functions/lib/events/catalogue.js';
import {
  ContainerStartError,
  ImagePullError,
  MountPlanError,
} from '../../functions/lib/runtime/errors.js';
import type { ContainerStatus, ExecutorRef } from '../../functions/lib/runtime/runtime.js';
import type { TesExecutor, TesState } from '../../functions/lib/tes/schemas.js';
import { createTexamApp } from '../../functions/texam/app.js';
import { createTorcApp } from '../../functions/torc/app.js';
import { eventually, serve, ServiceHarness, type ServedApp } from './harness.js';

const TWO_EXECUTORS: TesExecutor[] = [
  { image: 'alpine:3.20', command: ['echo', 'first'] },
  { image: 'busybox:1.36', command: ['echo', 'second'] },
];

/** Builds the `executor.exited` event that the runtime's watcher sends for an exited container. */
function exitedEvent(container: ContainerStatus) {
  const data = {
    index: container.executorIndex,
    exitCode: container.exitCode ?? -1,
    ...(container.startTime ? { startTime: container.startTime } : {}),
    ...(container.endTime ? { endTime: container.endTime } : {}),
    ...(container.reason ? { reason: container.reason } : {}),
  };
  return buildEvent('executor.exited', container.taskId, data, {
    step: container.executorIndex,
  });
}

function executor(taskId: string, executorIndex: number): ExecutorRef {
  return { taskId, executorIndex };
}

describe('services: texam', () => {
  let services: ServiceHarness;
  let texam: ServedApp;

  beforeEach(async () => {
    services = await ServiceHarness.start();
    texam = await serve(createTexamApp(services.monitor));
  });

  afterEach(async () => {
    await texam.close();
    await services.close();
  });

  /** Delivers `inputs.staged` as TIF sends it and waits for the container start. */
  async function stageInputs(taskId: string): Promise<number> {
    const response = await texam.deliver(
      buildEvent('inputs.staged', taskId, {}, { producer: 'tif' }),
    );
    await services.settle();
    return response.status;
  }

  /** Ends the executor's container with `exitCode` and delivers its exit. */
  async function exitExecutor(
    ref: ExecutorRef,
    exitCode: number,
    reason?: string,
  ): Promise<number> {
    const container = services.runtime.exit(ref, exitCode, reason);
    const response = await texam.deliver(exitedEvent(container));
    await services.settle();
    return response.status;
  }

  /** Delivers the `task.failed` that TExAM published to TOrc, as the broker would. */
  async function forwardFailure(taskId: string): Promise<void> {
    const [failed] = services.publisher.ofType('task.failed', taskId);
    expect(failed, 'task.failed published').to.not.equal(undefined);
    const { orchestrator, reconciler } = services;
    const torc = await serve(createTorcApp({ orchestrator, reconciler }));
    try {
      expect((await torc.deliver(failed!)).status).to.equal(202);
      await services.settle();
    } finally {
      await torc.close();
    }
  }

  describe('inputs.staged', () => {
    it('moves to RUNNING and starts executor 0', async () => {
      const { id } = await services.addTask({
        state: 'INITIALIZING',
        executors: TWO_EXECUTORS,
      });
      services.clock.advance(1000);

      expect(await stageInputs(id)).to.equal(202);

      const task = await services.task(id);
      expect(task.state).to.equal('RUNNING');
      expect(task.logs?.[0]?.logs).to.deep.equal([
        { exit_code: -1, start_time: services.clock.iso() },
      ]);
      expect(services.runtime.callsOf('startExecutor', id)).to.deep.equal([
        { method: 'startExecutor', taskId: id, executorIndex: 0 },
      ]);
      expect(services.runtime.container(executor(id, 0))?.state).to.equal('running');
      expect(services.runtime.container(executor(id, 0))?.image).to.equal('alpine:3.20');
      expect(services.publisher.events).to.deep.equal([]);
    });

    it('duplicate during a slow start starts once', async () => {
      const { id } = await services.addTask({ state: 'INITIALIZING' });
      const hold = services.runtime.holdStart(executor(id, 0));
      const event = buildEvent('inputs.staged', id, {}, { producer: 'tif' });

      expect((await texam.deliver(event)).status).to.equal(202);
      await hold.reached;
      expect((await texam.deliver(event)).status).to.equal(202);
      hold.release();
      await services.settle();

      expect(services.runtime.callsOf('startExecutor', id)).to.have.length(1);
      expect((await services.task(id)).logs?.[0]?.logs).to.have.length(1);
    });

    it('start time comes from the container', async () => {
      const { id } = await services.addTask({ state: 'INITIALIZING' });
      const hold = services.runtime.holdStart(executor(id, 0));
      const requested = services.clock.iso();

      await texam.deliver(buildEvent('inputs.staged', id, {}, { producer: 'tif' }));
      await hold.reached;
      expect((await services.task(id)).logs?.[0]?.logs[0]?.start_time).to.equal(requested);
      services.clock.advance(30_000);
      hold.release();
      await services.settle();

      const started = services.runtime.container(executor(id, 0))?.startTime;
      expect(started).to.not.equal(requested);
      expect((await services.task(id)).logs?.[0]?.logs[0]?.start_time).to.equal(started);
    });

    for (const state of ['QUEUED', 'CANCELING', 'COMPLETE', 'SYSTEM_ERROR'] as TesState[]) {
      it(`${state} task is left alone`, async () => {
        const { id } = await services.addTask({ state });
        const before = await services.task(id);

        expect(await stageInputs(id)).to.equal(202);

        expect(await services.task(id)).to.deep.equal(before);
        expect(services.runtime.calls).to.deep.equal([]);
      });
    }

    it('unknown task is 400', async () => {
      expect(await stageInputs('missing-task')).to.equal(400);
    });
  });

  describe('executor.exited', () => {
    it('records the exit and starts the next executor', async () => {
      const { id } = await services.addTask({
        state: 'INITIALIZING',
        executors: TWO_EXECUTORS,
      });
      await stageInputs(id);
      const started = services.runtime.container(executor(id, 0))!.startTime;
      services.runtime.setLogs(executor(id, 0), { stdout: 'first\n', stderr: 'a warning\n' });
      services.clock.advance(7000);

      expect(await exitExecutor(executor(id, 0), 0)).to.equal(202);

      const logs = (await services.task(id)).logs?.[0]?.logs;
      expect(logs?.[0]).to.deep.equal({
        exit_code: 0,
        start_time: started,
        end_time: services.clock.iso(),
        stdout: 'first\n',
        stderr: 'a warning\n',
      });
      expect(logs?.[1]).to.deep.equal({ exit_code: -1, start_time: services.clock.iso() });
      expect(services.runtime.container(executor(id, 1))?.image).to.equal('busybox:1.36');
      expect(services.publisher.events).to.deep.equal([]);
    });

    it('non-zero exit ends in EXECUTOR_ERROR', async () => {
      const { id } = await services.addTask({
        state: 'INITIALIZING',
        executors: TWO_EXECUTORS,
      });
      await stageInputs(id);

      await exitExecutor(executor(id, 0), 3);

      const [failed] = services.publisher.ofType('task.failed', id);
      expect(failed?.source).to.equal('/poiesis/texam');
      expect(failed?.data).to.deep.equal({
        state: 'EXECUTOR_ERROR',
        reason: 'ExecutorFailed',
        message: 'executor 0 (alpine:3.20) exited with code 3',
      });
      expect(services.runtime.callsOf('startExecutor', id)).to.have.length(1);
      await forwardFailure(id);
      const task = await services.task(id);
      expect(task.state).to.equal('EXECUTOR_ERROR');
      expect(task.logs?.[0]?.logs).to.have.length(1);
      expect(task.logs?.[0]?.logs[0]?.exit_code).to.equal(3);
      expect(task.logs?.[0]?.system_logs).to.deep.equal([
        'ExecutorFailed: executor 0 (alpine:3.20) exited with code 3',
      ]);
    });

    it('non-zero exit with ignore_error goes on', async () => {
      const { id } = await services.addTask({
        state: 'INITIALIZING',
        executors: [{ ...TWO_EXECUTORS[0]!, ignore_error: true }, TWO_EXECUTORS[1]!],
      });
      await stageInputs(id);

      await exitExecutor(executor(id, 0), 3);

      const logs = (await services.task(id)).logs?.[0]?.logs;
      expect(logs?.[0]?.exit_code).to.equal(3);
      expect(logs).to.have.length(2);
      expect(services.runtime.container(executor(id, 1))?.state).to.equal('running');
      expect(services.publisher.ofType('task.failed')).to.deep.equal([]);
    });

    it('last exit sends executors.done', async () => {
      const { id } = await services.addTask({
        state: 'INITIALIZING',
        executors: TWO_EXECUTORS,
      });
      await stageInputs(id);
      await exitExecutor(executor(id, 0), 0);
      expect(services.publisher.ofType('executors.done')).to.deep.equal([]);

      await exitExecutor(executor(id, 1), 0);

      const done = services.publisher.ofType('executors.done', id);
      expect(done.map((event) => event.id)).to.deep.equal([`${id}.executors.done`]);
      expect(done[0]?.source).to.equal('/poiesis/texam');
      expect((await services.task(id)).state).to.equal('RUNNING');
      expect(services.runtime.callsOf('startExecutor', id)).to.have.length(2);
    });

    it('OOMKilled is noted in system_logs', async () => {
      const { id } = await services.addTask({ state: 'INITIALIZING' });
      await stageInputs(id);

      await exitExecutor(executor(id, 0), 137, 'OOMKilled');

      const task = await services.task(id);
      expect(task.logs?.[0]?.logs[0]?.exit_code).to.equal(137);
      expect(task.logs?.[0]?.system_logs).to.deep.equal([
        'OOMKilled: a process of executor 0 was killed for exceeding the memory limit',
      ]);
      expect(services.publisher.ofType('task.failed', id)[0]?.data.state).to.equal(
        'EXECUTOR_ERROR',
      );
    });

    it('exit without times ends now', async () => {
      const { id } = await services.addTask({ state: 'INITIALIZING' });
      await stageInputs(id);
      const started = (await services.task(id)).logs?.[0]?.logs[0]?.start_time;
      services.clock.advance(9000);

      await texam.deliver(buildEvent('executor.exited', id, { index: 0, exitCode: 0 }));

      const log = (await services.task(id)).logs?.[0]?.logs[0];
      expect(log?.end_time).to.equal(services.clock.iso());
      expect(log?.start_time).to.equal(started);
    });

    it('duplicate changes nothing', async () => {
      const { id } = await services.addTask({
        state: 'INITIALIZING',
        executors: TWO_EXECUTORS,
      });
      await stageInputs(id);
      const container = services.runtime.exit(executor(id, 0), 0);
      await texam.deliver(exitedEvent(container));
      await services.settle();
      const before = await services.task(id);
      const calls = services.runtime.calls.length;
      services.clock.advance(1000);

      const response = await texam.deliver(exitedEvent(container));
      await services.settle();

      expect(response.status).to.equal(202);
      expect(await services.task(id)).to.deep.equal(before);
      expect(services.runtime.calls).to.have.length(calls);
      expect(services.publisher.events).to.deep.equal([]);
    });

    it('late exit of an earlier executor changes nothing', async () => {
      const { id } = await services.addTask({
        state: 'INITIALIZING',
        executors: TWO_EXECUTORS,
      });
      await stageInputs(id);
      await exitExecutor(executor(id, 0), 0);
      const before = await services.task(id);

      const late = buildEvent('executor.exited', id, { index: 0, exitCode: 5 }, { step: 0 });
      const response = await texam.deliver(late);
      await services.settle();

      expect(response.status).to.equal(202);
      expect(await services.task(id)).to.deep.equal(before);
      expect(services.publisher.events).to.deep.equal([]);
    });

    it('exit of an executor never started changes nothing', async () => {
      const { id } = await services.addTask({
        state: 'INITIALIZING',
        executors: TWO_EXECUTORS,
      });
      await stageInputs(id);
      const before = await services.task(id);

      const response = await texam.deliver(
        buildEvent('executor.exited', id, { index: 1, exitCode: 0 }, { step: 1 }),
      );
      await services.settle();

      expect(response.status).to.equal(202);
      expect(await services.task(id)).to.deep.equal(before);
      expect(services.runtime.callsOf('startExecutor', id)).to.have.length(1);
    });

    for (const state of ['COMPLETE', 'CANCELING', 'CANCELED'] as TesState[]) {
      it(`exit after the task is ${state} changes nothing`, async () => {
        const { id } = await services.addTask({
          state,
          executorLogs: [{ exit_code: 0, start_time: services.clock.iso() }],
        });
        const before = await services.task(id);

        const response = await texam.deliver(
          buildEvent('executor.exited', id, { index: 0, exitCode: 1 }, { step: 0 }),
        );

        expect(response.status).to.equal(202);
        expect(await services.task(id)).to.deep.equal(before);
        expect(services.runtime.calls).to.deep.equal([]);
        expect(services.publisher.events).to.deep.equal([]);
      });
    }

    it('unknown task is 400', async () => {
      const response = await texam.deliver(
        buildEvent('executor.exited', 'missing-task', { index: 0, exitCode: 0 }),
      );

      expect(response.status).to.equal(400);
    });

    it('invalid data is 400', async () => {
      const { id } = await services.addTask({ state: 'RUNNING' });
      const valid = buildEvent('executor.exited', id, { index: 0, exitCode: 0 });
      const invalid = new CloudEvent({ ...valid, data: { index: -1 } }, false);

      const response = await texam.deliver(invalid);

      expect(response.status).to.equal(400);
      expect(JSON.parse(response.body).msg).to.include('data.index');
    });
  });

  describe('container start', () => {
    it('image pull failure ends in SYSTEM_ERROR naming the image', async () => {
      const { id } = await services.addTask({
        state: 'INITIALIZING',
        executors: [{ image: 'registry.test/lab/missing:1.0', command: ['true'] }],
      });
      services.runtime.onStart(executor(id, 0), {
        kind: 'throws',
        error: new ImagePullError('registry.test/lab/missing:1.0', 'manifest unknown'),
      });

      expect(await stageInputs(id)).to.equal(202);

      const [failed] = services.publisher.ofType('task.failed', id);
      expect(failed?.data.state).to.equal('SYSTEM_ERROR');
      expect(failed?.data.reason).to.equal('ImagePullFailed');
      expect(failed?.data.message).to.include('image registry.test/lab/missing:1.0');
      await forwardFailure(id);
      const task = await services.task(id);
      expect(task.state).to.equal('SYSTEM_ERROR');
      const [systemLog] = task.logs?.[0]?.system_logs ?? [];
      expect(systemLog).to.match(/^ImagePullFailed: starting executor 0 failed: /);
      expect(systemLog).to.include('image registry.test/lab/missing:1.0 could not be pulled');
      expect(services.runtime.callsOf('removeTask', id)).to.have.length(1);
    });

    const failures = [
      {
        error: new ContainerStartError('poiesis-x-0', 'no such device'),
        reason: 'ContainerCannotRun',
      },
      { error: new MountPlanError(['outputs[0].path: under /']), reason: 'UnsupportedPath' },
      { error: new Error('engine crashed'), reason: 'ExecutorStartFailed' },
    ];
    for (const { error, reason } of failures) {
      it(`${error.constructor.name} is reported as ${reason}`, async () => {
        const { id } = await services.addTask({ state: 'INITIALIZING' });
        services.runtime.onStart(executor(id, 0), { kind: 'throws', error });

        await stageInputs(id);

        const [failed] = services.publisher.ofType('task.failed', id);
        expect(failed?.data).to.deep.equal({
          state: 'SYSTEM_ERROR',
          reason,
          message: `starting executor 0 failed: ${error.message}`,
        });
        expect((await services.task(id)).state).to.equal('RUNNING');
      });
    }

    it('unreported failure is retried on resume', async () => {
      const { id } = await services.addTask({ state: 'INITIALIZING' });
      services.runtime.onStart(executor(id, 0), {
        kind: 'throws',
        error: new ImagePullError('alpine', 'registry unreachable'),
      });
      services.publisher.failure = new Error('broker unreachable');

      expect(await stageInputs(id)).to.equal(202);
      expect((await services.task(id)).state).to.equal('RUNNING');
      expect(services.publisher.events).to.deep.equal([]);

      services.publisher.failure = undefined;
      await texam.deliver(buildEvent('inputs.staged', id, {}, { producer: 'torc' }));
      await services.settle();

      expect(services.runtime.callsOf('startExecutor', id)).to.have.length(2);
      expect(services.publisher.ofType('task.failed', id)[0]?.data.reason).to.equal(
        'ImagePullFailed',
      );
    });

    it('container started after cancel is removed', async () => {
      const { id } = await services.addTask({ state: 'INITIALIZING' });
      const hold = services.runtime.holdStart(executor(id, 0));
      await texam.deliver(buildEvent('inputs.staged', id, {}, { producer: 'tif' }));
      await hold.reached;
      await services.store.transition(id, { from: ['RUNNING'], to: 'CANCELING' });
      await services.orchestrator.cancelTask(id);
      await eventually(async () => (await services.task(id)).state === 'CANCELED');
      expect(services.runtime.callsOf('removeTask', id)).to.have.length(1);

      hold.release();
      await services.settle();

      expect(services.runtime.container(executor(id, 0))).to.equal(undefined);
      const methods = services.runtime.calls.map((call) => call.method);
      expect(methods.slice(methods.indexOf('startExecutor'))).to.deep.equal([
        'startExecutor',
        'removeTask',
        'removeTask',
      ]);
    });
  });

  describe('advance', () => {
    /** Delivers `inputs.staged` as the reconcile loop sends it for a RUNNING task. */
    async function resume(taskId: string): Promise<void> {
      const response = await texam.deliver(
        buildEvent('inputs.staged', taskId, {}, { producer: 'torc' }),
      );
      expect(response.status).to.equal(202);
      await services.settle();
    }

    /** Adds a RUNNING task with a log of its first executor, as once that executor started. */
    function addStartedTask(fields: Parameters<typeof services.addTask>[0] = {}) {
      return services.addTask({
        state: 'RUNNING',
        ...fields,
        executorLogs: [{ exit_code: 0, start_time: services.clock.iso() }],
      });
    }

    it('records a missed exit from the container', async () => {
      const started = services.clock.iso();
      const { id } = await services.addTask({
        state: 'RUNNING',
        executors: TWO_EXECUTORS,
        executorLogs: [{ exit_code: 0, start_time: started }],
      });
      services.clock.advance(60_000);
      const ended = services.clock.iso();
      services.runtime.putContainer({
        ...executor(id, 0),
        image: 'alpine:3.20',
        state: 'exited',
        exitCode: 0,
        startTime: started,
        endTime: ended,
        reason: 'Completed',
      });
      services.runtime.setLogs(executor(id, 0), { stdout: 'first\n', stderr: '' });
      services.clock.advance(60_000);

      await resume(id);

      const logs = (await services.task(id)).logs?.[0]?.logs;
      expect(logs?.[0]).to.deep.equal({
        exit_code: 0,
        start_time: started,
        end_time: ended,
        stdout: 'first\n',
        stderr: '',
      });
      expect(logs?.[1]?.start_time).to.equal(services.clock.iso());
      expect(services.runtime.container(executor(id, 1))?.state).to.equal('running');
    });

    it('missed non-zero exit fails the task', async () => {
      const { id } = await addStartedTask();
      services.runtime.putContainer({
        ...executor(id, 0),
        image: 'alpine',
        state: 'exited',
        exitCode: 2,
        endTime: services.clock.iso(),
      });

      await resume(id);

      expect((await services.task(id)).logs?.[0]?.logs[0]?.exit_code).to.equal(2);
      expect(services.publisher.ofType('task.failed', id)[0]?.data.reason).to.equal(
        'ExecutorFailed',
      );
    });

    it('starts a container that was never created', async () => {
      const { id } = await addStartedTask({ executors: TWO_EXECUTORS });

      await resume(id);

      expect(services.runtime.callsOf('startExecutor', id)).to.deep.equal([
        { method: 'startExecutor', taskId: id, executorIndex: 0 },
      ]);
      expect(services.runtime.container(executor(id, 0))?.state).to.equal('running');
      expect((await services.task(id)).logs?.[0]?.logs).to.have.length(1);
    });

    it('replaces a container that never started', async () => {
      const { id } = await addStartedTask();
      services.runtime.putContainer({ ...executor(id, 0), image: 'alpine', state: 'created' });

      await resume(id);

      expect(services.runtime.callsOf('stopExecutor', id)).to.have.length(1);
      expect(services.runtime.callsOf('startExecutor', id)).to.have.length(1);
      expect(services.runtime.container(executor(id, 0))?.state).to.equal('running');
    });

    it('fails a container in an unknown state', async () => {
      const { id } = await addStartedTask();
      services.runtime.putContainer({
        ...executor(id, 0),
        image: 'alpine',
        state: 'unknown',
        message: 'paused by hand',
      });

      await resume(id);

      const [failure] = services.publisher.ofType('task.failed', id);
      expect(failure?.data).to.include({
        state: 'SYSTEM_ERROR',
        reason: 'ExecutorContainerUnknown',
      });
      expect((failure?.data as { message: string }).message).to.include('paused by hand');
    });

    it('leaves a running container alone', async () => {
      const { id } = await addStartedTask();
      services.runtime.putContainer({ ...executor(id, 0), image: 'alpine', state: 'running' });
      const before = await services.task(id);

      await resume(id);

      expect(await services.task(id)).to.deep.equal(before);
      expect(services.runtime.callsOf('startExecutor')).to.deep.equal([]);
      expect(services.publisher.events).to.deep.equal([]);
    });

    it('starts executor 0 of a task without executor logs', async () => {
      const { id } = await services.addTask({ state: 'RUNNING', executors: TWO_EXECUTORS });

      await resume(id);

      expect(services.runtime.callsOf('startExecutor', id)).to.deep.equal([
        { method: 'startExecutor', taskId: id, executorIndex: 0 },
      ]);
      expect((await services.task(id)).logs?.[0]?.logs).to.have.length(1);
    });

    it('starts the executor after a finished one', async () => {
      const { id } = await services.addTask({
        state: 'RUNNING',
        executors: TWO_EXECUTORS,
        executorLogs: [{ exit_code: 0, end_time: services.clock.iso() }],
      });

      await resume(id);

      expect(services.runtime.callsOf('startExecutor', id)).to.deep.equal([
        { method: 'startExecutor', taskId: id, executorIndex: 1 },
      ]);
    });

    it('sends executors.done again after the last executor', async () => {
      const { id } = await services.addTask({
        state: 'RUNNING',
        executors: TWO_EXECUTORS,
        executorLogs: [
          { exit_code: 0, end_time: services.clock.iso() },
          { exit_code: 0, end_time: services.clock.iso() },
        ],
      });

      await resume(id);
      await resume(id);

      expect(services.publisher.typesFor(id)).to.deep.equal(['executors.done', 'executors.done']);
      expect(services.runtime.callsOf('startExecutor')).to.deep.equal([]);
    });

    it('sends task.failed again after a failed executor', async () => {
      const { id } = await services.addTask({
        state: 'RUNNING',
        executors: TWO_EXECUTORS,
        executorLogs: [{ exit_code: 1, end_time: services.clock.iso() }],
      });

      await resume(id);

      expect(services.publisher.typesFor(id)).to.deep.equal(['task.failed']);
      expect(services.runtime.callsOf('startExecutor')).to.deep.equal([]);
    });
  });
});
