/**
 * Measures what Poiesis adds to running a container: a one-executor `echo`
 * task from POST to COMPLETE on `poiesis local`, against a bare
 * `<engine> run --rm` of the same image; then 50 such tasks submitted at
 * once against 50 bare runs at the same parallelism.
 *
 * Usage: npx tsx scripts/bench-overhead.ts [--rounds N] [--batch N]
 * Needs a build (`npm run build`), podman or docker and the image
 * localhost/poiesis-busybox:latest (scripts/build-test-image.sh).
 * Everything runs on 127.0.0.1 and stops by itself.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);
const IMAGE = 'localhost/poiesis-busybox:latest';
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/run.js');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    batch: { type: 'string', default: '50' },
    engine: { type: 'string', default: 'podman' },
  },
});
const rounds = Number(values.rounds);
const batch = Number(values.batch);
const engine = values.engine;

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

function bareRun(): Promise<unknown> {
  return run(engine, ['run', '--rm', IMAGE, 'echo', 'hello']);
}

async function startLocal(dataDir: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [BIN, 'local', '--port', '0', '--data-dir', dataDir], {
    // No limit of active tasks, so that Poiesis runs at the same parallelism as the bare runs.
    env: { ...process.env, POIESIS_LOG_LEVEL: 'warn', POIESIS_MAX_ACTIVE_TASKS: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening on (\S+)/.exec(chunk.toString());
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`poiesis local exited with ${code}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

async function submit(url: string): Promise<string> {
  const created = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ executors: [{ image: IMAGE, command: ['echo', 'hello'] }] }),
  });
  return ((await created.json()) as { id: string }).id;
}

/**
 * Submits `count` echo tasks at once and waits until all are COMPLETE,
 * checking them with one list request every 50 ms as a client of many tasks would.
 */
async function poiesisBatch(url: string, count: number): Promise<void> {
  const ids = new Set(await Promise.all(Array.from({ length: count }, () => submit(url))));
  const deadline = Date.now() + 300_000;
  for (;;) {
    const page = (await (await fetch(`${url}/tasks?page_size=${count + 10}`)).json()) as {
      tasks: Array<{ id: string; state: string }>;
    };
    const states = page.tasks.filter((task) => ids.has(task.id)).map((task) => task.state);
    const failed = states.filter(
      (state) => !['QUEUED', 'INITIALIZING', 'RUNNING', 'COMPLETE'].includes(state),
    );
    if (failed.length > 0) throw new Error(`tasks ended ${failed.join(', ')}`);
    if (states.length === count && states.every((state) => state === 'COMPLETE')) return;
    if (Date.now() > deadline) throw new Error(`the ${count} tasks did not finish in 300 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Submits the echo task and polls every 5 ms until it is COMPLETE. */
async function poiesisTask(url: string): Promise<void> {
  const id = await submit(url);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const task = (await (await fetch(`${url}/tasks/${id}`)).json()) as { state: string };
    if (task.state === 'COMPLETE') return;
    if (task.state !== 'QUEUED' && task.state !== 'INITIALIZING' && task.state !== 'RUNNING') {
      throw new Error(`task ${id} ended ${task.state}`);
    }
    if (Date.now() > deadline) throw new Error(`task ${id} did not finish in 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'poiesis-bench-'));
  const local = await startLocal(dataDir);
  try {
    // Warm-up: image layers, page cache, JIT.
    await bareRun();
    await poiesisTask(local.url);

    const bare: number[] = [];
    const poiesis: number[] = [];
    for (let i = 0; i < rounds; i++) {
      bare.push(await timed(bareRun));
      poiesis.push(await timed(() => poiesisTask(local.url)));
    }
    const bareOne = median(bare);
    const poiesisOne = median(poiesis);
    const oneGoal = 1.3 * bareOne + 150;

    const bareBatch = await timed(() => Promise.all(Array.from({ length: batch }, bareRun)));
    const poiesisBatchMs = await timed(() => poiesisBatch(local.url, batch));
    const batchGoal = 1.5 * bareBatch;

    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    console.log(
      `machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${engine}`,
    );
    console.log(`one task, median of ${rounds}:`);
    console.log(`  bare ${engine} run --rm  ${bareOne.toFixed(0)} ms`);
    console.log(
      `  poiesis POST→COMPLETE   ${poiesisOne.toFixed(0)} ms (goal under ${oneGoal.toFixed(0)} ms: ${poiesisOne < oneGoal ? 'met' : 'missed'})`,
    );
    console.log(`${batch} at once, wall time:`);
    console.log(`  bare ${engine} run --rm  ${bareBatch.toFixed(0)} ms`);
    console.log(
      `  poiesis                 ${poiesisBatchMs.toFixed(0)} ms (ratio ${(poiesisBatchMs / bareBatch).toFixed(2)}, goal under 1.5: ${poiesisBatchMs < batchGoal ? 'met' : 'missed'})`,
    );
  } finally {
    local.stop();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
