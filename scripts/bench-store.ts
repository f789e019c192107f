/**
 * Measures how long the SQLite task store takes to list one page of 256
 * tasks, at 1,000, 10,000 and 100,000 stored tasks, and prints p50 and p95
 * per query.
 *
 * Run: `npx tsx scripts/bench-store.ts`. It writes a temporary database of
 * about 250 MB and deletes it at the end. Tasks are inserted in one
 * transaction per size step, straight into the file, and the store is
 * reopened after each step, so that its query planner statistics are as
 * fresh as after a restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { monotonicFactory } from 'ulid';
import { configureLogging } from '../functions/lib/logging.js';
import { SqliteTaskStore } from '../functions/lib/store/sqlite.js';
import { prepareTaskInsert } from '../functions/lib/store/sqlite-rows.js';
import type { ListQuery } from '../functions/lib/store/store.js';
import type { Task, TesState } from '../functions/lib/tes/schemas.js';

const SIZES = [1_000, 10_000, 100_000];
const PAGE_SIZE = 256;
const RUNS = 100;
const WARMUP_RUNS = 5;

/** Roughly the mix of a busy server: most tasks finished, a few active. */
const STATE_WEIGHTS: ReadonlyArray<[TesState, number]> = [
  ['COMPLETE', 70],
  ['EXECUTOR_ERROR', 8],
  ['CANCELED', 5],
  ['SYSTEM_ERROR', 4],
  ['RUNNING', 6],
  ['QUEUED', 4],
  ['INITIALIZING', 2],
  ['CANCELING', 1],
];
const STATES = STATE_WEIGHTS.flatMap(([state, weight]) => Array<TesState>(weight).fill(state));
const PROCESSES = ['ALIGN', 'SORT', 'INDEX', 'CALL_VARIANTS', 'FASTQC', 'MULTIQC', 'TRIM', 'MERGE'];
const ENGINES = ['nextflow', 'nextflow', 'cromwell', 'snakemake', 'cwl-tes'];
const FINISHED: ReadonlySet<TesState> = new Set([
  'COMPLETE',
  'EXECUTOR_ERROR',
  'CANCELED',
  'SYSTEM_ERROR',
]);

/** Builds a task shaped like the ones workflow engines submit, with logs when it has run. */
function generateTask(i: number, id: string, creationTime: Date): Task {
  const state = STATES[i % STATES.length]!;
  const process = PROCESSES[(i * 7) % PROCESSES.length]!;
  const sample = `sample_${String(i % 5000).padStart(4, '0')}`;
  const workflow = `wf-${Math.floor(i / 400)}`;
  const tags: Record<string, string> = { engine: ENGINES[i % ENGINES.length]!, workflow };
  if (i % 500 === 0) tags.priority = 'high';
  const started = new Date(creationTime.getTime() + 5_000).toISOString();
  const ended = new Date(creationTime.getTime() + 65_000).toISOString();
  return {
    id,
    state,
    name: `nf-${process} (${sample})`,
    description: `Runs ${process} on ${sample} for workflow ${workflow}.`,
    inputs: [
      { url: `s3://lab-data/${sample}/reads_1.fastq.gz`, path: '/data/reads_1.fastq.gz' },
      { url: `s3://lab-data/${sample}/reads_2.fastq.gz`, path: '/data/reads_2.fastq.gz' },
      {
        content: `#!/bin/bash\nset -euo pipefail\n${process.toLowerCase()} --threads 4 /data\n`,
        path: '/work/.command.sh',
      },
    ],
    outputs: [
      {
        url: `s3://lab-results/${workflow}/${sample}/`,
        path: '/work/out/*',
        path_prefix: '/work/out/',
      },
    ],
    resources: { cpu_cores: 4, ram_gb: 8, disk_gb: 50, preemptible: false },
    executors: [
      {
        image: `quay.io/biocontainers/${process.toLowerCase()}:1.17--h00cdaf9_0`,
        command: ['/bin/bash', '-ue', '/work/.command.sh'],
        workdir: '/work',
        stdout: '/work/.command.out',
        stderr: '/work/.command.err',
        env: { NXF_TASK_WORKDIR: '/work', LANG: 'C.UTF-8' },
      },
    ],
    volumes: ['/tmp'],
    tags,
    logs: FINISHED.has(state)
      ? [
          {
            start_time: started,
            end_time: ended,
            logs: [
              {
                start_time: started,
                end_time: ended,
                exit_code: state === 'EXECUTOR_ERROR' ? 1 : 0,
                stdout: `processed ${i % 1000} records\n`.repeat(8),
                stderr: state === 'EXECUTOR_ERROR' ? 'error: input truncated\n' : '',
              },
            ],
            outputs: [
              {
                url: `s3://lab-results/${workflow}/${sample}/out.bam`,
                path: '/work/out/out.bam',
                size_bytes: String(1e6 + i),
              },
            ],
            system_logs: state === 'SYSTEM_ERROR' ? ['image pull failed: ErrImagePull'] : [],
          },
        ]
      : [{ logs: [], outputs: [], system_logs: [] }],
    creation_time: creationTime.toISOString(),
  };
}

/** Inserts tasks into the file in one transaction until it contains `size`, and appends their ids to `ids`. */
function fillTo(file: string, ids: string[], size: number): void {
  const nextId = monotonicFactory();
  const start = Date.parse('2026-01-01T00:00:00Z');
  const db = new Database(file);
  const insert = prepareTaskInsert(db);
  db.transaction(() => {
    for (let i = ids.length; i < size; i += 1) {
      // One task every 20 seconds: 100,000 tasks span about 23 days.
      const creationTime = new Date(start + i * 20_000);
      const id = nextId(creationTime.getTime()).toLowerCase();
      insert(generateTask(i, id, creationTime));
      ids.push(id);
    }
  })();
  db.close();
}

async function measure(
  store: SqliteTaskStore,
  query: ListQuery,
): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < WARMUP_RUNS; i += 1) await store.list(query);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const start = performance.now();
    const page = await store.list(query);
    times.push(performance.now() - start);
    if (page.tasks.length === 0) throw new Error(`query ${JSON.stringify(query)} listed no tasks`);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(RUNS * 0.5)]!, p95: times[Math.floor(RUNS * 0.95)]! };
}

/** Lists the queries to time; `deepId` is an id with 90% of the tasks newer than it. */
function queries(
  deepId: string,
): Array<{ label: string; query: Omit<ListQuery, 'pageSize' | 'withDocument'> }> {
  return [
    { label: 'no filter', query: {} },
    { label: 'state COMPLETE', query: { state: 'COMPLETE' } },
    { label: 'state RUNNING', query: { state: 'RUNNING' } },
    { label: 'name prefix nf-ALIGN', query: { namePrefix: 'nf-ALIGN' } },
    { label: 'name prefix nf-', query: { namePrefix: 'nf-' } },
    { label: 'tag engine=nextflow', query: { tags: [{ key: 'engine', value: 'nextflow' }] } },
    { label: 'tag priority (any value)', query: { tags: [{ key: 'priority', value: '' }] } },
    { label: 'deep page', query: { after: deepId } },
    { label: 'deep page, state COMPLETE', query: { after: deepId, state: 'COMPLETE' } },
  ];
}

function formatMs(ms: number): string {
  return ms.toFixed(2).padStart(7);
}

async function main(): Promise<void> {
  configureLogging('silent');
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'poiesis-bench-'));
  const file = path.join(directory, 'poiesis.db');
  const ids: string[] = [];
  // results[label][size index] = "p50 p95"
  const results = new Map<string, string[]>();
  try {
    // Opening the store once creates the file and its schema.
    await new SqliteTaskStore({ directory }).close();
    for (const size of SIZES) {
      const fillStart = performance.now();
      fillTo(file, ids, size);
      const fillSeconds = (performance.now() - fillStart) / 1000;
      console.error(`filled ${size.toLocaleString('en')} tasks (+${fillSeconds.toFixed(1)} s)`);

      const store = new SqliteTaskStore({ directory });
      const deepId = ids[Math.floor(size * 0.1)]!;
      for (const { label, query } of queries(deepId)) {
        for (const withDocument of [false, true]) {
          const row = `${label}, ${withDocument ? 'full' : 'MINIMAL'}`;
          const { p50, p95 } = await measure(store, {
            ...query,
            pageSize: PAGE_SIZE,
            withDocument,
          });
          results.set(row, [...(results.get(row) ?? []), `${formatMs(p50)} ${formatMs(p95)}`]);
        }
      }
      await store.close();
    }
    printTable(results, fs.statSync(file).size);
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

function printTable(results: Map<string, string[]>, fileBytes: number): void {
  const labelWidth = Math.max(...[...results.keys()].map((label) => label.length)) + 2;
  const columnWidth = 17;
  console.log(`SqliteTaskStore.list, page of ${PAGE_SIZE}, ${RUNS} runs per cell, milliseconds`);
  console.log(
    `database at ${SIZES.at(-1)!.toLocaleString('en')} tasks: ${(fileBytes / 1e6).toFixed(0)} MB`,
  );
  console.log('');
  console.log(
    'query'.padEnd(labelWidth) +
      SIZES.map((size) => `${size.toLocaleString('en')} tasks`.padStart(columnWidth)).join(''),
  );
  console.log(
    ''.padEnd(labelWidth) + SIZES.map(() => '    p50     p95'.padStart(columnWidth)).join(''),
  );
  for (const [label, cells] of results) {
    console.log(
      label.padEnd(labelWidth) + cells.map((cell) => cell.padStart(columnWidth)).join(''),
    );
  }
}

await main();
