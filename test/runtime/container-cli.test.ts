/**
 * The container CLI runtime against real containers of the local test
 * image (scripts/build-test-image.sh, which this file runs first).
 *
 * Needs podman, or docker with a running daemon, and a static busybox at
 * /bin/busybox; without them the suite is skipped and its title gives the reason.
 * POIESIS_TEST_RUN_ARGS replaces the extra `run` arguments, which default
 * to the ulimits that podman on a host with low hard limits needs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { access, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { configureLogging } from '../../functions/lib/logging.js';
import { ContainerCliRuntime } from '../../functions/lib/runtime/container-cli.js';
import { LABELS } from '../../functions/lib/runtime/container-status.js';
import { detectEngine } from '../../functions/lib/runtime/engine.js';
import {
  ContainerEngineNotFoundError,
  ContainerStartError,
  InvalidImageNameError,
} from '../../functions/lib/runtime/errors.js';
import type { ContainerEvent, RuntimeTask } from '../../functions/lib/runtime/runtime.js';
import { newTaskId } from '../../functions/lib/tes/ids.js';
import { describeRuntimeContract, waitForExit } from './contract.js';

configureLogging('silent');

const run = promisify(execFile);
const BUSYBOX = '/bin/busybox';
const IMAGE = 'localhost/poiesis-busybox:latest';
const LOG_TAIL_BYTES = 4096;
const POLL_INTERVAL_MS = 200;
const RUN_ARGUMENTS = (
  process.env.POIESIS_TEST_RUN_ARGS ?? '--ulimit nofile=10000:10000 --ulimit nproc=9000:9000'
)
  .split(' ')
  .filter((argument) => argument !== '');

/** Finds the engine to test with, or the reason to skip the suite. */
async function findEngine(): Promise<{ engine?: string; skipReason?: string }> {
  const engine = await detectEngine();
  if (engine === undefined) return { skipReason: 'neither podman nor docker is on PATH' };
  try {
    await run(engine, ['ps', '--quiet'], { timeout: 20_000 });
  } catch {
    return { skipReason: `${engine} is installed but \`${engine} ps\` fails` };
  }
  try {
    await access(BUSYBOX);
  } catch {
    return { skipReason: `${BUSYBOX} is missing; install busybox-static` };
  }
  return { engine };
}

const { engine, skipReason } = await findEngine();
const describeWithEngine = engine === undefined ? describe.skip : describe;
const title = engine === undefined ? ` (skipped: ${skipReason})` : ` (${engine})`;

describeWithEngine(`container CLI runtime${title}`, function () {
  this.timeout(60_000);
  let tasksDir: string;

  function createRuntime(options: { runArguments?: string[] } = {}): ContainerCliRuntime {
    return new ContainerCliRuntime({
      tasksDir,
      engine,
      runArguments: options.runArguments ?? RUN_ARGUMENTS,
      helperBinary: BUSYBOX,
      logTailBytes: LOG_TAIL_BYTES,
      pollIntervalMs: POLL_INTERVAL_MS,
      stopTimeoutSeconds: 2,
    });
  }

  before(async function () {
    tasksDir = mkdtempSync(path.join(os.tmpdir(), 'poiesis-runtime-'));
    const script = path.resolve(import.meta.dirname, '../../scripts/build-test-image.sh');
    await run('sh', [script, engine!], { timeout: 120_000 });
  });

  after(function () {
    rmSync(tasksDir, { recursive: true, force: true });
  });

  describeRuntimeContract('ContainerCliRuntime', () => ({
    createRuntime: () => createRuntime(),
    image: 'alpine',
    missingImage: 'registry.invalid/nobody/nothing:0.0.1',
    logTailBytes: LOG_TAIL_BYTES,
    watchLatencyMs: POLL_INTERVAL_MS * 3,
  }));

  describe('host specifics', function () {
    let runtime: ContainerCliRuntime;
    let taskIds: string[];

    beforeEach(function () {
      runtime = createRuntime();
      taskIds = [];
    });

    afterEach(async function () {
      await Promise.all(taskIds.map((taskId) => runtime.removeTask(taskId)));
    });

    function makeTask(task: Omit<RuntimeTask, 'id'>): RuntimeTask {
      const id = newTaskId();
      taskIds.push(id);
      return { id, ...task };
    }

    async function runToExit(task: RuntimeTask, executorIndex = 0) {
      await runtime.startExecutor(task, executorIndex);
      return waitForExit(runtime, { taskId: task.id, executorIndex });
    }

    it('host paths seen by executors', async function () {
      const task = makeTask({
        executors: [
          { image: IMAGE, command: ['sh', '-c', 'tr a-z A-Z < /data/in.txt > /data/out/up.txt'] },
        ],
        inputs: [{ path: '/data/in.txt', content: 'hello' }],
        outputs: [{ path: '/data/out/up.txt', url: 'file:///tmp/up.txt' }],
      });
      await runtime.createVolume(task);
      const layout = runtime.layout(task.id);
      await writeFile(layout.hostPath('/data/in.txt'), 'hello\n');
      const status = await runToExit(task);
      expect(status.exitCode).to.equal(0);
      expect(await readFile(layout.hostPath('/data/out/up.txt'), 'utf8')).to.equal('HELLO\n');
    });

    it('files directly under / mounted alone', async function () {
      const task = makeTask({
        executors: [
          {
            image: IMAGE,
            command: ['sh', '-c', 'cat /input.txt /etc/extra.conf > /result.txt && ls /bin/sh'],
          },
        ],
        inputs: [
          { path: '/input.txt', content: 'x' },
          { path: '/etc/extra.conf', content: 'y' },
        ],
        outputs: [{ path: '/result.txt', url: 'file:///tmp/result.txt' }],
      });
      await runtime.createVolume(task);
      const layout = runtime.layout(task.id);
      await writeFile(layout.hostPath('/input.txt'), 'top\n');
      await writeFile(layout.hostPath('/etc/extra.conf'), 'conf\n');
      const status = await runToExit(task);
      expect(status.exitCode).to.equal(0);
      expect(await readFile(layout.hostPath('/result.txt'), 'utf8')).to.equal('top\nconf\n');
      const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 0 });
      expect(logs.stdout).to.equal('/bin/sh\n');
    });

    it('logs written to the task directory', async function () {
      const task = makeTask({
        executors: [{ image: IMAGE, command: ['sh', '-c', 'echo out; echo err >&2; exit 2'] }],
      });
      await runtime.createVolume(task);
      await runToExit(task);
      const layout = runtime.layout(task.id);
      expect(await readFile(layout.stdoutFile(0), 'utf8')).to.equal('out\n');
      expect(await readFile(layout.stderrFile(0), 'utf8')).to.equal('err\n');
      const exitCode = await readFile(path.join(layout.executorDir(0), 'exit-code'), 'utf8');
      expect(exitCode).to.equal('2\n');
    });

    it('labels name task, executor and runtime', async function () {
      const task = makeTask({ executors: [{ image: IMAGE, command: ['true'] }] });
      await runtime.createVolume(task);
      const status = await runToExit(task);
      const { stdout } = await run(engine!, ['inspect', '--type', 'container', status.name]);
      const [inspected] = JSON.parse(stdout) as Array<{
        Config: { Labels: Record<string, string> };
      }>;
      const labels = inspected!.Config.Labels;
      expect(labels[LABELS.managed]).to.equal('true');
      expect(labels[LABELS.taskId]).to.equal(task.id);
      expect(labels[LABELS.executorIndex]).to.equal('0');
      expect(labels[LABELS.tasksDir]).to.equal(path.resolve(tasksDir));
      expect(status.name).to.equal(`poiesis-${task.id}-exec-0`);
    });

    it('env file removed after start', async function () {
      const task = makeTask({
        executors: [{ image: IMAGE, command: ['sh', '-c', 'echo "$TOKEN"'], env: { TOKEN: 's3' } }],
      });
      await runtime.createVolume(task);
      await runToExit(task);
      const files = await readdir(runtime.layout(task.id).executorDir(0));
      expect(files.filter((file) => file.startsWith('env'))).to.deep.equal([]);
      const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 0 });
      expect(logs.stdout).to.equal('s3\n');
    });

    it('env value with line breaks', async function () {
      const task = makeTask({
        executors: [
          {
            image: IMAGE,
            command: ['sh', '-c', 'printf "%s|" "$MULTI"; env | grep -c "^dotted.name=" || true'],
            env: { MULTI: 'line one\nline two', 'dotted.name': 'dropped' },
          },
        ],
      });
      await runtime.createVolume(task);
      await runToExit(task);
      const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 0 });
      expect(logs.stdout).to.equal('line one\nline two|0\n');
    });

    it('image PATH program preferred to busybox applet', async function () {
      const task = makeTask({
        executors: [
          {
            image: IMAGE,
            command: [
              'sh',
              '-c',
              'printf "#!/bin/sh\\necho image-ls\\n" > /tools/ls; chmod +x /tools/ls',
            ],
          },
          { image: IMAGE, command: ['ls'], env: { PATH: '/tools:/bin' } },
        ],
        volumes: ['/tools'],
      });
      await runtime.createVolume(task);
      await runToExit(task, 0);
      await runToExit(task, 1);
      const logs = await runtime.readExecutorLogs({ taskId: task.id, executorIndex: 1 });
      expect(logs.stdout).to.equal('image-ls\n');
    });

    it('memory limit kill reported as OOMKilled', async function () {
      const task = makeTask({
        executors: [
          {
            image: IMAGE,
            command: ['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'],
          },
        ],
        resources: { ram_gb: 16 / 1024 },
      });
      await runtime.createVolume(task);
      const status = await runToExit(task);
      expect(status.exitCode).to.equal(137);
      expect(status.reason).to.equal('OOMKilled');
    });

    it('start failure removes the container', async function () {
      const failing = createRuntime({
        runArguments: [...RUN_ARGUMENTS, '--user', '1000:no-such-group'],
      });
      const task = makeTask({ executors: [{ image: IMAGE, command: ['true'] }] });
      await failing.createVolume(task);
      const error = await failing.startExecutor(task, 0).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(error).to.be.instanceOf(ContainerStartError);
      expect((error as ContainerStartError).reason).to.equal('ContainerCannotRun');
      expect(await failing.listContainers(task.id)).to.deep.equal([]);
    });

    it('image name starting with a dash rejected', async function () {
      const task = makeTask({ executors: [{ image: '--privileged', command: ['true'] }] });
      await runtime.createVolume(task);
      const error = await runtime.startExecutor(task, 0).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(error).to.be.instanceOf(InvalidImageNameError);
      expect(await runtime.listContainers(task.id)).to.deep.equal([]);
    });

    it('container removed from outside reported as deleted', async function () {
      const task = makeTask({ executors: [{ image: IMAGE, command: ['sleep', '600'] }] });
      const events: ContainerEvent[] = [];
      const watch = runtime.watch((event) => {
        if (event.container.taskId === task.id) events.push(event);
      });
      try {
        await runtime.createVolume(task);
        const status = await runtime.startExecutor(task, 0);
        await until(() => events.some((event) => event.type === 'started'));
        await run(engine!, ['rm', '--force', status.containerId]);
        await until(() => events.some((event) => event.type === 'deleted'));
        expect(events.map((event) => event.type)).to.include('deleted');
      } finally {
        await watch.close();
      }
    });

    it('missing engine binary reported', async function () {
      const missing = new ContainerCliRuntime({ tasksDir, engine: '/nonexistent/podman' });
      const error = await missing.listContainers(newTaskId()).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(error).to.be.instanceOf(ContainerEngineNotFoundError);
    });
  });
});

/** Polls a condition every 50 ms for up to 10 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
