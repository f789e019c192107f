/**
 * The contract every Runtime passes unchanged: call `describeRuntimeContract`
 * from the test file of each implementation, with a harness that makes
 * runtimes of that implementation.
 *
 * The suite reaches the task volume only through executors, so a runtime
 * whose volume is not on this host (a Kubernetes PVC) can run it as is.
 */
import { expect } from 'chai';
import { ImagePullError } from '../../functions/lib/runtime/errors.js';
import type {
  ContainerEvent,
  ContainerStatus,
  ExecutorRef,
  Runtime,
  RuntimeTask,
} from '../../functions/lib/runtime/runtime.js';
import type { TesExecutor } from '../../functions/lib/tes/schemas.js';
import { newTaskId } from '../../functions/lib/tes/ids.js';

export interface RuntimeHarness {
  /**
   * Makes a runtime. Runtimes of one harness share tasks and containers,
   * as a process restarted on the same data directory would.
   */
  createRuntime(): Runtime;
  /** An image whose PATH has busybox applets: sh, cat, sort, pwd, sleep, head, tr. */
  image: string;
  /** An image that no registry can serve. */
  missingImage: string;
  /** The maximum size of each log tail the runtimes keep, in bytes. */
  logTailBytes: number;
  /** Time within which a watch reports a change, in ms; at least one poll interval. */
  watchLatencyMs: number;
}

/** Time limit for an executor that should end within a second or two, in ms. */
const EXIT_DEADLINE_MS = 20_000;

export function describeRuntimeContract(name: string, makeHarness: () => RuntimeHarness): void {
  describe(`${name}: Runtime contract`, function () {
    this.timeout(30_000);
    let harness: RuntimeHarness;
    let runtime: Runtime;
    let taskIds: string[];

    before(function () {
      harness = makeHarness();
    });

    beforeEach(function () {
      runtime = harness.createRuntime();
      taskIds = [];
    });

    afterEach(async function () {
      await Promise.all(taskIds.map((taskId) => runtime.removeTask(taskId)));
    });

    /** Makes a task with these executors, which is removed after the test. */
    function makeTask(
      executors: Array<Partial<TesExecutor> & { command: string[] }>,
      extra: Partial<RuntimeTask> = {},
    ): RuntimeTask {
      const id = newTaskId();
      taskIds.push(id);
      return {
        id,
        executors: executors.map((executor) => ({ image: harness.image, ...executor })),
        ...extra,
      };
    }

    /** Runs every executor of the task in order, each to its exit. */
    async function runAll(task: RuntimeTask): Promise<ContainerStatus[]> {
      const statuses: ContainerStatus[] = [];
      await runtime.createVolume(task);
      for (let index = 0; index < task.executors.length; index++) {
        await runtime.startExecutor(task, index);
        statuses.push(await waitForExit(runtime, { taskId: task.id, executorIndex: index }));
      }
      return statuses;
    }

    describe('executors', function () {
      it('exit codes of success and failure', async function () {
        const task = makeTask([{ command: ['true'] }, { command: ['sh', '-c', 'exit 3'] }]);
        const [success, failure] = await runAll(task);
        expect(success!.exitCode).to.equal(0);
        expect(success!.reason).to.equal('Completed');
        expect(failure!.exitCode).to.equal(3);
        expect(failure!.reason).to.equal('Error');
      });

      it('start and end times of an exited executor', async function () {
        const task = makeTask([{ command: ['sleep', '0.3'] }]);
        const [status] = await runAll(task);
        expect(status!.startTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
        expect(status!.endTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
        const elapsed = Date.parse(status!.endTime!) - Date.parse(status!.startTime!);
        expect(elapsed).to.be.at.least(250);
      });

      it('start reported no later than the end', async function () {
        const task = makeTask(Array.from({ length: 4 }, () => ({ command: ['true'] })));
        await runtime.createVolume(task);
        for (let index = 0; index < task.executors.length; index++) {
          const started = await runtime.startExecutor(task, index);
          const exited = await waitForExit(runtime, { taskId: task.id, executorIndex: index });
          expect(started.startTime, `executor ${index}`).to.be.a('string');
          expect(
            Date.parse(started.startTime!),
            `executor ${index} started ${started.startTime} and ended ${exited.endTime}`,
          ).to.be.at.most(Date.parse(exited.endTime!));
          expect(
            Date.parse(exited.startTime!),
            `executor ${index} inspected start ${exited.startTime} and end ${exited.endTime}`,
          ).to.be.at.most(Date.parse(exited.endTime!));
        }
      });

      it('stdout and stderr kept apart', async function () {
        const task = makeTask([{ command: ['sh', '-c', 'echo to-out; echo to-err >&2'] }]);
        await runAll(task);
        const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 0 });
        expect(logs.stdout).to.equal('to-out\n');
        expect(logs.stderr).to.equal('to-err\n');
      });

      it('log tails bounded', async function () {
        const bytes = harness.logTailBytes * 3;
        const script = `head -c ${bytes} /dev/zero | tr '\\0' a; echo; echo end-of-stdout; echo small >&2`;
        const task = makeTask([{ command: ['sh', '-c', script] }]);
        await runAll(task);
        const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 0 });
        expect(Buffer.byteLength(logs.stdout)).to.be.at.most(harness.logTailBytes);
        expect(Buffer.byteLength(logs.stdout)).to.be.at.least(harness.logTailBytes / 2);
        expect(logs.stdout.endsWith('end-of-stdout\n')).to.equal(true);
        expect(logs.stderr).to.equal('small\n');
      });

      it('stdin, stdout and stderr files', async function () {
        const task = makeTask(
          [
            { command: ['sh', '-c', 'printf "one\\ntwo\\nthree\\n" > /data/in.txt'] },
            {
              command: ['sh', '-c', 'sort -r; echo sorted >&2'],
              stdin: '/data/in.txt',
              stdout: '/data/out/sorted.txt',
              stderr: '/data/out/errors.txt',
            },
            { command: ['cat', '/data/out/sorted.txt', '/data/out/errors.txt'] },
          ],
          { volumes: ['/data'] },
        );
        const statuses = await runAll(task);
        expect(statuses.map((status) => status.exitCode)).to.deep.equal([0, 0, 0]);
        const sorter = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 1 });
        expect(sorter.stdout).to.equal('two\nthree\none\n');
        expect(sorter.stderr).to.equal('sorted\n');
        const reader = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 2 });
        expect(reader.stdout).to.equal('two\nthree\none\nsorted\n');
      });

      it('missing stdin file fails with a message', async function () {
        const task = makeTask([{ command: ['cat'], stdin: '/data/none.txt' }], {
          volumes: ['/data'],
        });
        const [status] = await runAll(task);
        expect(status!.exitCode).to.equal(1);
        const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 0 });
        expect(logs.stderr).to.include('/data/none.txt');
      });

      it('workdir', async function () {
        const task = makeTask([{ command: ['pwd'], workdir: '/work/here' }]);
        await runAll(task);
        const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 0 });
        expect(logs.stdout).to.equal('/work/here\n');
      });

      it('env including an empty value', async function () {
        const task = makeTask([
          {
            command: ['sh', '-c', 'echo "$GREETING"; echo "[${EMPTY-unset}]"; echo "$WITH_EQUALS"'],
            env: { GREETING: 'hello world', EMPTY: '', WITH_EQUALS: 'a=b' },
          },
        ]);
        await runAll(task);
        const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 0 });
        expect(logs.stdout).to.equal('hello world\n[]\na=b\n');
      });

      it('volume shared between two executors', async function () {
        const task = makeTask(
          [
            { command: ['sh', '-c', 'echo from-first > /shared/note.txt'] },
            { command: ['cat', '/shared/note.txt'] },
          ],
          { volumes: ['/shared'] },
        );
        await runAll(task);
        const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 1 });
        expect(logs.stdout).to.equal('from-first\n');
      });

      it('input and output directories shared', async function () {
        const task = makeTask(
          [
            { command: ['sh', '-c', 'echo data > /in/a.txt; echo result > /out/r/b.txt'] },
            { command: ['cat', '/in/a.txt', '/out/r/b.txt'] },
          ],
          {
            inputs: [{ path: '/in/a.txt', content: 'placeholder' }],
            outputs: [{ path: '/out/r/*.txt', path_prefix: '/out/r', url: 'file:///tmp/x' }],
          },
        );
        const statuses = await runAll(task);
        expect(statuses.map((status) => status.exitCode)).to.deep.equal([0, 0]);
        const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 1 });
        expect(logs.stdout).to.equal('data\nresult\n');
      });

      it('command not found exits 127', async function () {
        const task = makeTask([{ command: ['no-such-command', '--flag'] }]);
        const [status] = await runAll(task);
        expect(status!.exitCode).to.equal(127);
        const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 0 });
        expect(logs.stderr).to.include('no-such-command');
        expect(logs.stderr).to.include('not found');
      });

      it('logs of an executor that never ran are empty', async function () {
        const task = makeTask([{ command: ['true'] }]);
        await runtime.createVolume(task);
        const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 0 });
        expect(logs).to.deep.equal({ stdout: '', stderr: '' });
      });
    });

    describe('lifecycle', function () {
      it('containers listed by task', async function () {
        const task = makeTask([{ command: ['true'] }, { command: ['true'] }]);
        const other = makeTask([{ command: ['true'] }]);
        await runAll(task);
        await runAll(other);
        const containers = await runtime.listContainers(task.id);
        expect(containers.map((container) => container.executorIndex)).to.deep.equal([0, 1]);
        expect(containers.map((container) => container.taskId)).to.deep.equal([task.id, task.id]);
        expect(new Set(containers.map((container) => container.name)).size).to.equal(2);
      });

      it('duplicate start returns the same container', async function () {
        const task = makeTask([{ command: ['sleep', '600'] }]);
        await runtime.createVolume(task);
        const [first, second] = await Promise.all([
          runtime.startExecutor(task, 0),
          runtime.startExecutor(task, 0),
        ]);
        const third = await runtime.startExecutor(task, 0);
        expect(second.containerId).to.equal(first.containerId);
        expect(third.containerId).to.equal(first.containerId);
        expect(await runtime.listContainers(task.id)).to.have.length(1);
      });

      it('stop of a running sleep 600', async function () {
        const task = makeTask([{ command: ['sleep', '600'] }]);
        const ref = { taskId: task.id, executorIndex: 0 };
        await runtime.createVolume(task);
        const started = await runtime.startExecutor(task, 0);
        expect(started.state).to.equal('running');
        const before = Date.now();
        await runtime.stopExecutor(ref);
        expect(Date.now() - before).to.be.below(10_000);
        expect(await runtime.inspectExecutor(ref)).to.equal(undefined);
        await runtime.stopExecutor(ref);
      });

      it('removeTask leaves nothing behind', async function () {
        const task = makeTask([{ command: ['true'] }, { command: ['sleep', '600'] }], {
          volumes: ['/data'],
        });
        await runtime.createVolume(task);
        await runtime.startExecutor(task, 0);
        await runtime.startExecutor(task, 1);
        expect(await runtime.volumeExists(task.id)).to.equal(true);
        await runtime.removeTask(task.id);
        expect(await runtime.listContainers(task.id)).to.deep.equal([]);
        expect(await runtime.volumeExists(task.id)).to.equal(false);
        expect(await runtime.inspectExecutor({ taskId: task.id, executorIndex: 1 })).to.equal(
          undefined,
        );
        await runtime.removeTask(task.id);
      });

      it('tasks with a volume or a container listed', async function () {
        const withVolume = makeTask([{ command: ['true'] }]);
        const withContainer = makeTask([{ command: ['sleep', '600'] }]);
        await runtime.createVolume(withVolume);
        await runtime.startExecutor(withContainer, 0);
        await runtime.deleteVolume(withContainer.id);
        const listed = await runtime.listTaskIds();
        expect(listed).to.include(withVolume.id);
        expect(listed).to.include(withContainer.id);
        await runtime.removeTask(withVolume.id);
        await runtime.removeTask(withContainer.id);
        const after = await runtime.listTaskIds();
        expect(after).to.not.include(withVolume.id);
        expect(after).to.not.include(withContainer.id);
      });

      it('start after removeTask refused', async function () {
        const task = makeTask([{ command: ['true'] }]);
        await runtime.createVolume(task);
        await runtime.removeTask(task.id);
        const error = await runtime.startExecutor(task, 0).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(error).to.be.instanceOf(Error);
        expect(await runtime.listContainers(task.id)).to.deep.equal([]);
      });

      it('volume create and delete are idempotent', async function () {
        const task = makeTask([{ command: ['true'] }], { volumes: ['/data'] });
        await runtime.createVolume(task);
        await runtime.createVolume(task);
        expect(await runtime.volumeExists(task.id)).to.equal(true);
        await runtime.deleteVolume(task.id);
        await runtime.deleteVolume(task.id);
        expect(await runtime.volumeExists(task.id)).to.equal(false);
      });

      it('missing image fails fast naming the image', async function () {
        const task = makeTask([{ command: ['true'], image: harness.missingImage }]);
        await runtime.createVolume(task);
        const before = Date.now();
        const error = await runtime.startExecutor(task, 0).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(Date.now() - before).to.be.below(15_000);
        expect(error).to.be.instanceOf(ImagePullError);
        expect((error as ImagePullError).reason).to.equal('ImagePullFailed');
        expect((error as ImagePullError).image).to.equal(harness.missingImage);
        expect((error as ImagePullError).message).to.include(harness.missingImage);
        expect(await runtime.listContainers(task.id)).to.deep.equal([]);
      });

      it('restarted runtime finds containers and logs', async function () {
        const task = makeTask([{ command: ['sh', '-c', 'echo before-restart; sleep 1; exit 4'] }]);
        const ref = { taskId: task.id, executorIndex: 0 };
        await runtime.createVolume(task);
        await runtime.startExecutor(task, 0);
        const restarted = harness.createRuntime();
        const status = await waitForExit(restarted, ref);
        expect(status.exitCode).to.equal(4);
        const logs = await restarted.readExecutorLogs(ref);
        expect(logs.stdout).to.equal('before-restart\n');
      });
    });

    describe('watch', function () {
      it('exit reported with its code', async function () {
        const task = makeTask([{ command: ['sh', '-c', 'sleep 0.5; exit 5'] }]);
        const events = recordEvents(runtime, task.id, harness.watchLatencyMs);
        try {
          await runtime.createVolume(task);
          await runtime.startExecutor(task, 0);
          const exited = await events.next('exited');
          expect(exited.container.executorIndex).to.equal(0);
          expect(exited.container.exitCode).to.equal(5);
          expect(exited.container.endTime).to.be.a('string');
        } finally {
          await events.close();
        }
      });

      it('start reported for a running executor', async function () {
        const task = makeTask([{ command: ['sleep', '600'] }]);
        const events = recordEvents(runtime, task.id, harness.watchLatencyMs);
        try {
          await runtime.createVolume(task);
          await runtime.startExecutor(task, 0);
          const started = await events.next('started');
          expect(started.container.state).to.equal('running');
        } finally {
          await events.close();
        }
      });

      it('exit while nobody watched reported', async function () {
        const task = makeTask([{ command: ['sh', '-c', 'exit 6'] }]);
        await runAll(task);
        const events = recordEvents(harness.createRuntime(), task.id, harness.watchLatencyMs);
        try {
          const exited = await events.next('exited');
          expect(exited.container.exitCode).to.equal(6);
        } finally {
          await events.close();
        }
      });

      it('own stop not reported as deleted', async function () {
        const task = makeTask([{ command: ['sleep', '600'] }]);
        const events = recordEvents(runtime, task.id, harness.watchLatencyMs);
        try {
          await runtime.createVolume(task);
          await runtime.startExecutor(task, 0);
          await events.next('started');
          await runtime.stopExecutor({ taskId: task.id, executorIndex: 0 });
          await events.settle();
          expect(events.types()).to.not.include('deleted');
        } finally {
          await events.close();
        }
      });
    });
  });
}

/** Polls `inspectExecutor` until the executor has exited. */
export async function waitForExit(runtime: Runtime, ref: ExecutorRef): Promise<ContainerStatus> {
  const deadline = Date.now() + EXIT_DEADLINE_MS;
  for (;;) {
    const status = await runtime.inspectExecutor(ref);
    if (status?.state === 'exited') return status;
    if (Date.now() > deadline) {
      throw new Error(`executor ${ref.executorIndex} of task ${ref.taskId} did not exit in time`);
    }
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Records the events of one task from a new watch of the runtime. */
function recordEvents(runtime: Runtime, taskId: string, watchLatencyMs: number) {
  const events: ContainerEvent[] = [];
  const watch = runtime.watch((event) => {
    if (event.container.taskId === taskId) events.push(event);
  });
  return {
    types: () => events.map((event) => event.type),
    /** Waits for the first event of this type. */
    async next(type: ContainerEvent['type']): Promise<ContainerEvent> {
      const deadline = Date.now() + EXIT_DEADLINE_MS;
      for (;;) {
        const found = events.find((event) => event.type === type);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(`no ${type} event for task ${taskId}; saw ${events.length} others`);
        }
        await sleep(50);
      }
    },
    /** Gives the watch time to report what has happened so far. */
    settle: () => sleep(watchLatencyMs * 2),
    close: () => watch.close(),
  };
}
