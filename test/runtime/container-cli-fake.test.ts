/**
 * The container CLI runtime against a fake engine CLI, for what real
 * containers show only by chance: the order of events around `run`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { configureLogging } from '../../functions/lib/logging.js';
import { ContainerCliRuntime } from '../../functions/lib/runtime/container-cli.js';
import type { ExecFileFunction } from '../../functions/lib/runtime/engine.js';
import { newTaskId } from '../../functions/lib/tes/ids.js';

configureLogging('silent');

const RUN_DURATION_MS = 50;

describe('container CLI runtime (fake engine)', function () {
  let tasksDir: string;

  before(function () {
    tasksDir = mkdtempSync(path.join(os.tmpdir(), 'poiesis-fake-engine-'));
  });

  after(function () {
    rmSync(tasksDir, { recursive: true, force: true });
  });

  it('start time taken before run returns', async function () {
    let runCalledAt = 0;
    const execFile: ExecFileFunction = async (_file, args) => {
      if (args[0] !== 'run') return { stdout: '', stderr: '' };
      runCalledAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, RUN_DURATION_MS));
      return { stdout: 'c0ffee\n', stderr: '' };
    };
    const runtime = new ContainerCliRuntime({
      tasksDir,
      engine: 'podman',
      execFile,
      helperBinary: '/bin/busybox',
    });
    const task = { id: newTaskId(), executors: [{ image: 'alpine', command: ['true'] }] };

    await runtime.createVolume(task);
    const status = await runtime.startExecutor(task, 0);

    expect(status.containerId).to.equal('c0ffee');
    expect(Date.parse(status.startTime!)).to.be.at.most(runCalledAt);
  });
});
