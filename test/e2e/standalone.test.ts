/**
 * The components as separate processes, as Knative runs them: `poiesis api`,
 * `torc`, `tif`, `texam` and `tof`, each publishing to a broker at K_SINK,
 * here an embedded broker started by the test with the catalogue's routes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { eventRoutes } from '../../functions/lib/events/catalogue.js';
import { EmbeddedBroker } from '../../functions/lib/events/embedded-broker.js';
import { configureLogging } from '../../functions/lib/logging.js';
import { engineForTests, ensureAlpineImage, skipWithoutEngine } from '../support/engine.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/run.js');

/** Starts `poiesis <command>` on a free port and resolves with its URL once it listens. */
function startCommand(
  command: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, command, '--port', '0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} did not start: ${stderr}`)),
      20_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening on (\S+)/.exec(chunk.toString());
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]! });
      }
    });
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${stderr}`)));
  });
}

describe('e2e: components as separate processes', function () {
  this.timeout(120_000);
  const children: ChildProcess[] = [];
  let broker: EmbeddedBroker;
  let dataDir: string;

  before(function () {
    skipWithoutEngine(this);
    ensureAlpineImage(engineForTests()!);
    configureLogging('silent');
  });
  after(async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) =>
            child.exitCode !== null ? resolve(0) : child.once('exit', resolve),
          ),
      ),
    );
    await broker?.close({ drainTimeoutMs: 0 });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a task through the broker', async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'poiesis-standalone-'));
    broker = new EmbeddedBroker();
    const env = {
      K_SINK: await broker.start(),
      POIESIS_DATA_DIR: dataDir,
      POIESIS_LOG_LEVEL: 'warn',
    };
    const urls = new Map<string, string>();
    for (const command of ['torc', 'tif', 'texam', 'tof', 'api']) {
      const started = await startCommand(command, env);
      children.push(started.child);
      urls.set(command, started.url);
    }
    for (const { type, consumer } of eventRoutes()) {
      const url = urls.get(consumer);
      if (url) broker.subscribe({ type, url: `${url}/` });
    }
    broker.setDeadLetterSink(`${urls.get('torc')}/dead-letter`);

    const api = urls.get('api')!;
    const created = await fetch(`${api}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ path: '/data/in.txt', content: 'from a separate process\n' }],
        executors: [{ image: 'alpine', command: ['cat', '/data/in.txt'] }],
      }),
    });
    const { id } = (await created.json()) as { id: string };
    let task: any;
    const deadline = Date.now() + 60_000;
    do {
      await new Promise((resolve) => setTimeout(resolve, 200));
      task = await (await fetch(`${api}/tasks/${id}?view=FULL`)).json();
    } while (
      !['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR'].includes(task.state) &&
      Date.now() < deadline
    );
    expect(task.state, JSON.stringify(task)).to.equal('COMPLETE');
    expect(task.logs[0].logs[0].stdout).to.equal('from a separate process\n');
  });
});
