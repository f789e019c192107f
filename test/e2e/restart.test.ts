/**
 * A crash of `poiesis local` while tasks run: after SIGKILL and a new start
 * on the same data directory, every task ends in a terminal state, none is
 * lost and no container of the run is left behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { engineForTests, ensureAlpineImage, skipWithoutEngine } from '../support/engine.js';
import { startLocalProcess, type LocalProcess } from '../support/local-process.js';

const TERMINAL = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];

async function call(local: LocalProcess, method: string, route: string, body?: unknown) {
  const response = await fetch(`${local.apiUrl}${route}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  expect(response.status, `${method} ${route}`).to.equal(200);
  return response.json() as Promise<any>;
}

describe('e2e: restart after a crash', function () {
  this.timeout(240_000);
  const engine = engineForTests();
  let root: string;
  let local: LocalProcess | undefined;

  before(function () {
    skipWithoutEngine(this);
    ensureAlpineImage(engineForTests()!);
    root = mkdtempSync(path.join(os.tmpdir(), 'poiesis-restart-'));
    mkdirSync(path.join(root, 'in'));
    writeFileSync(path.join(root, 'in', 'data.txt'), 'payload\n');
  });
  after(async () => {
    await local?.stop();
    if (local) rmSync(local.dataDir, { recursive: true, force: true });
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('ends every task and leaves no container', async () => {
    const env = { POIESIS_FILE_ALLOW: root, POIESIS_RECONCILE_INTERVAL: '2' };
    local = await startLocalProcess({ env });
    const documents = [
      ...Array.from({ length: 4 }, (_, i) => ({
        name: `sleeper-${i}`,
        executors: [
          { image: 'alpine', command: ['sleep', '4'] },
          { image: 'alpine', command: ['echo', `after-${i}`] },
        ],
      })),
      ...Array.from({ length: 4 }, (_, i) => ({
        name: `filer-${i}`,
        inputs: [{ path: '/in/data.txt', url: `file://${root}/in/data.txt` }],
        outputs: [{ path: '/out/copy.txt', url: `file://${root}/out-${i}/copy.txt` }],
        executors: [{ image: 'alpine', command: ['cp', '/in/data.txt', '/out/copy.txt'] }],
      })),
      {
        name: 'failing',
        executors: [{ image: 'alpine', command: ['sh', '-c', 'sleep 3; exit 4'] }],
      },
    ];
    const ids: string[] = [];
    for (const document of documents) ids.push((await call(local, 'POST', '/tasks', document)).id);

    // Crash while the sleepers run.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const running = await Promise.all(
        ids.slice(0, 4).map((id) => call(local!, 'GET', `/tasks/${id}`)),
      );
      if (running.some((task) => task.state === 'RUNNING')) break;
      expect(Date.now(), 'no task reached RUNNING').to.be.below(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const dataDir = local.dataDir;
    await local.kill();

    local = await startLocalProcess({ dataDir, env });
    const finished = new Map<string, any>();
    const end = Date.now() + 120_000;
    while (finished.size < ids.length && Date.now() < end) {
      for (const id of ids) {
        if (finished.has(id)) continue;
        const task = await call(local, 'GET', `/tasks/${id}?view=FULL`);
        if (TERMINAL.includes(task.state)) finished.set(id, task);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const unfinished = ids.filter((id) => !finished.has(id));
    expect(unfinished, 'tasks not finished after the restart').to.deep.equal([]);

    const listed = await call(local, 'GET', '/tasks?page_size=100');
    expect(listed.tasks.map((task: { id: string }) => task.id).sort()).to.deep.equal(
      [...ids].sort(),
    );

    for (const [i, id] of ids.entries()) {
      const task = finished.get(id);
      const expected = i === ids.length - 1 ? 'EXECUTOR_ERROR' : 'COMPLETE';
      expect(task.state, `${task.name}: ${JSON.stringify(task.logs)}`).to.equal(expected);
    }
    expect(finished.get(ids[0]!).logs[0].logs[1].stdout).to.equal('after-0\n');
    expect(finished.get(ids.at(-1)!).logs[0].logs[0].exit_code).to.equal(4);

    // Teardown runs right after the terminal state; give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const left = execFileSync(engine!, [
      'ps',
      '-a',
      '--filter',
      `label=org.poiesis.tasks-dir=${path.join(dataDir, 'tasks')}`,
      '--format',
      '{{.Names}}',
    ])
      .toString()
      .trim();
    expect(left, 'containers left').to.equal('');
  });

  it('removes leftovers of a finished task at start', async () => {
    const dataDir = local!.dataDir;
    const listed = await call(local!, 'GET', '/tasks?state=COMPLETE&page_size=1');
    const finishedId = listed.tasks[0].id as string;
    await local!.stop();
    // What a crash in the middle of the task's teardown leaves behind.
    const leftover = path.join(dataDir, 'tasks', finishedId, 'fs', 'data');
    mkdirSync(leftover, { recursive: true });
    local = await startLocalProcess({ dataDir, env: { POIESIS_FILE_ALLOW: root } });
    const deadline = Date.now() + 20_000;
    while (existsSync(path.join(dataDir, 'tasks', finishedId)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(existsSync(path.join(dataDir, 'tasks', finishedId)), 'leftover volume').to.equal(false);
  });
});
