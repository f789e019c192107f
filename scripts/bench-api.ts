/**
 * Measures the TES API over HTTP on loopback: CreateTask throughput at 16
 * and 64 requests in flight, and GetTask and ListTasks latency at 1,000,
 * 10,000 and 100,000 stored tasks.
 *
 * Run: `npm run build && npx tsx scripts/bench-api.ts`. The script starts the
 * built `./bin/run.js api` as a child process on a free 127.0.0.1 port, with
 * a new temporary data directory and no broker, so every task stays QUEUED.
 * It cancels about one task in 20 so that `state=CANCELED` matches a few
 * tasks. It fills the store through POST /tasks only, checks every ListTasks
 * query by walking all its pages, stops the server and deletes the directory.
 * The requests it sends are bounded by the constants below, and it gives up
 * after {@link DEADLINE_MS}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** Store sizes at which reads are measured. */
const SIZES = [1_000, 10_000, 100_000];
/**
 * Creates per round. Rounds alternate between the concurrencies, so that each
 * one meets every store size; CREATE_BANDS must be multiples of it from 10,000.
 */
const CREATE_ROUND = 4_500;
/** Requests in flight while creating. */
const CONCURRENCIES = [16, 64];
const PAGE_SIZE = 256;
const GET_RUNS = 1_000;
const LIST_RUNS = 200;
const WARMUP_RUNS = 10;
/** A list measurement stops after this long even with fewer than LIST_RUNS runs. */
const CELL_LIMIT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 30_000;
/** The whole run gives up after this long, whatever is left. */
const DEADLINE_MS = 15 * 60_000;
/** `/proc` counts CPU time in ticks of USER_HZ, which is 100 per second on x86 and arm64 Linux. */
const USER_HZ = 100;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const deadline = performance.now() + DEADLINE_MS;
let requestsSent = 0;

// --- Tasks -------------------------------------------------------------------

/** The attributes of a generated task that the ListTasks filters select on. */
interface TaskFacts {
  process: string;
  sample: string;
  engine: string;
  workflowRun: string;
  priority: boolean;
  canceled: boolean;
}

const PROCESSES = [
  'ALIGN',
  'SORT',
  'MARKDUP',
  'CALL_VARIANTS',
  'FASTQC',
  'MULTIQC',
  'TRIM',
  'MERGE',
];
const OTHER_ENGINES = ['cromwell', 'snakemake', 'cwl-tes'];

/** Returns a number in [0, 1) from `i` alone; each `salt` gives an independent attribute. */
function unitHash(i: number, salt: number): number {
  let x = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}

function pick<T>(items: readonly T[], i: number, salt: number): T {
  return items[Math.floor(unitHash(i, salt) * items.length)]!;
}

/** Facts of task `i`: 40% nextflow, 1 in 8 of each process, 1 in 500 high priority, 5% canceled. */
function taskFacts(i: number): TaskFacts {
  return {
    process: pick(PROCESSES, i, 1),
    sample: `sample_${String(Math.floor(unitHash(i, 2) * 5000)).padStart(4, '0')}`,
    engine: unitHash(i, 3) < 0.4 ? 'nextflow' : pick(OTHER_ENGINES, i, 4),
    workflowRun: `run-${Math.floor(i / 400)}`,
    priority: unitHash(i, 5) < 0.002,
    canceled: unitHash(i, 6) < 0.05,
  };
}

/** Builds a CreateTask body like a workflow engine's: three executors, inline scripts, tags. */
function taskBody(facts: TaskFacts): string {
  const { process, sample, engine, workflowRun } = facts;
  const tool = process.toLowerCase().replace('_', '-');
  const results = `file:///tmp/poiesis-bench-results/${workflowRun}/${sample}`;
  const script = [
    '#!/bin/bash',
    'set -euo pipefail',
    `${tool} --threads 4 --reference /ref/genome.fa \\`,
    `  --in1 /data/${sample}_R1.fastq.gz --in2 /data/${sample}_R2.fastq.gz \\`,
    `  --out /work/out/${sample}.${tool}.bam --metrics /work/out/${sample}.metrics.txt`,
    '',
  ].join('\n');
  const task = {
    name: `nf-${process} (${sample})`,
    description: `${process} of ${sample} in workflow run ${workflowRun}`,
    inputs: [
      {
        url: `https://data.example.org/${sample}/R1.fastq.gz`,
        path: `/data/${sample}_R1.fastq.gz`,
      },
      {
        url: `https://data.example.org/${sample}/R2.fastq.gz`,
        path: `/data/${sample}_R2.fastq.gz`,
      },
      { url: 'https://data.example.org/ref/GRCh38.fa', path: '/ref/genome.fa' },
      { content: script, path: '/work/.command.sh' },
      { content: `sample\tlane\n${sample}\tL001\n`, path: '/work/samplesheet.tsv' },
    ],
    outputs: [
      { url: `${results}/`, path: '/work/out/*', path_prefix: '/work/out/', type: 'FILE' },
      { url: `${results}/${tool}.log`, path: '/work/.command.log', type: 'FILE' },
    ],
    resources: { cpu_cores: 4, ram_gb: 8, disk_gb: 40, preemptible: false },
    executors: [
      { image: 'ubuntu:24.04', command: ['mkdir', '-p', '/work/out'], workdir: '/work' },
      {
        image: `quay.io/biocontainers/${tool}:1.19--h96c455f_0`,
        command: ['/bin/bash', '-ue', '/work/.command.sh'],
        workdir: '/work',
        stdout: '/work/.command.out',
        stderr: '/work/.command.err',
        env: { NXF_TASK_WORKDIR: '/work', TMPDIR: '/tmp', LC_ALL: 'C.UTF-8' },
      },
      {
        image: 'ubuntu:24.04',
        command: ['sha256sum', `/work/out/${sample}.${tool}.bam`],
        workdir: '/work',
        stdout: '/work/out/checksums.sha256',
      },
    ],
    volumes: ['/tmp'],
    tags: {
      engine,
      workflow_run: workflowRun,
      sample,
      ...(facts.priority ? { priority: 'high' } : {}),
    },
  };
  return JSON.stringify(task);
}

// --- HTTP client -----------------------------------------------------------

interface Reply {
  status: number;
  body: string;
  ms: number;
}

/** Sends requests over keep-alive connections to the API under test. */
class ApiClient {
  private readonly agent = new http.Agent({
    keepAlive: true,
    maxSockets: Math.max(...CONCURRENCIES),
  });

  constructor(
    private readonly host: string,
    private readonly port: number,
    /** Path prefix of the API, such as `/ga4gh/tes/v1`. */
    private readonly prefix: string,
  ) {}

  /** Sends one request and returns its status, body and duration. Rejects on a network error. */
  send(method: 'GET' | 'POST', route: string, body?: string): Promise<Reply> {
    if (performance.now() > deadline) {
      throw new Error(`the benchmark ran past its ${DEADLINE_MS / 60_000} minute deadline`);
    }
    requestsSent += 1;
    const headers: http.OutgoingHttpHeaders =
      body === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: this.host,
          port: this.port,
          method,
          path: this.prefix + route,
          headers,
          agent: this.agent,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              ms: performance.now() - started,
            }),
          );
        },
      );
      request.setTimeout(REQUEST_TIMEOUT_MS, () =>
        request.destroy(new Error(`${method} ${route} timed out after ${REQUEST_TIMEOUT_MS} ms`)),
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  /** Like {@link send}, but throws unless the status is 200, and parses the JSON body. */
  async json<T>(method: 'GET' | 'POST', route: string, body?: string): Promise<T & { ms: number }> {
    const reply = await this.send(method, route, body);
    if (reply.status !== 200) {
      throw new Error(`${method} ${route} returned ${reply.status}: ${reply.body.slice(0, 300)}`);
    }
    return { ...(JSON.parse(reply.body) as T), ms: reply.ms };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `job(i)` for i from 0 to count - 1 with at most `concurrency` jobs at once. */
async function runConcurrently(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

// --- Server ----------------------------------------------------------------

interface ApiServer {
  child: ChildProcess;
  url: URL;
  dataDir: string;
  /** CPU seconds the server process has used so far, user and system, or NaN without /proc. */
  cpuSeconds(): number;
  /** Resident memory of the server in bytes, or NaN without /proc. */
  rssBytes(): number;
}

/** Starts `./bin/run.js api` on a free port and resolves with its URL once it listens. */
function startServer(dataDir: string): Promise<ApiServer> {
  const entry = path.join(ROOT, 'dist', 'cli', 'commands', 'api.js');
  if (!fs.existsSync(entry)) {
    throw new Error(`${entry} is missing; run \`npm run build\` first`);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, POIESIS_LOG_LEVEL: 'warn' };
  // Without a broker URL the API drops its events, and tasks stay QUEUED.
  delete env.POIESIS_BROKER_URL;
  delete env.K_SINK;
  const args = [path.join(ROOT, 'bin', 'run.js'), 'api', '--host', '127.0.0.1', '--port', '0'];
  const child = spawn(process.execPath, [...args, '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`[api] ${chunk.toString()}`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the api did not listen within ${START_TIMEOUT_MS} ms: ${output}`));
    }, START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the api exited with code ${code} before it listened: ${output}`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        child,
        url: new URL(match[1]!),
        dataDir,
        cpuSeconds: () => readProcStat(child.pid!),
        rssBytes: () => readRss(child.pid!),
      });
    });
  });
}

/** CPU seconds used by this process, user and system. */
function clientCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** CPU seconds all processes have used since boot, from `/proc/stat`, or NaN without it. */
function machineCpuSeconds(): number {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal: idle and iowait are not work.
    const [user, nice, system, , , irq, softirq, steal] = fields.slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) / USER_HZ;
  } catch {
    return NaN;
  }
}

function readProcStat(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses: utime is 14th and stime 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return NaN;
  }
}

function readRss(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** Sends SIGTERM and waits for the exit; SIGKILL after 10 seconds. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// --- Filling the store -------------------------------------------------------

/** Measurements of one round of creates. */
interface CreateRound {
  band: string;
  storedBefore: number;
  concurrency: number;
  creates: number;
  seconds: number;
  latencies: number[];
  serverCpuSeconds: number;
  clientCpuSeconds: number;
}

/** Store sizes where a band of create rounds ends in the table. The last is the largest size. */
const CREATE_BANDS = [1_000, 10_000, 55_000, 100_000];

function bandOf(storedBefore: number): string {
  const end = CREATE_BANDS.find((limit) => storedBefore < limit)!;
  const start = [0, ...CREATE_BANDS].filter((limit) => limit <= storedBefore).at(-1)!;
  return `${start.toLocaleString('en')} → ${end.toLocaleString('en')}`;
}

/** The tasks created so far, by creation order, and the rounds that created them. */
class StoreFiller {
  readonly ids: string[] = [];
  readonly facts: TaskFacts[] = [];
  readonly rounds: CreateRound[] = [];
  canceled = 0;
  cancelSeconds = 0;
  private cancelFrom = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly server: ApiServer,
  ) {}

  /** Creates tasks until `size` are stored, in rounds of CREATE_ROUND that alternate the concurrency. */
  async fillTo(size: number): Promise<void> {
    while (this.ids.length < size) {
      const concurrency = CONCURRENCIES[this.rounds.length % CONCURRENCIES.length]!;
      const stored = this.ids.length;
      const limit = CREATE_BANDS.find((end) => stored < end)!;
      await this.createRound(Math.min(CREATE_ROUND, size - stored, limit - stored), concurrency);
    }
    await this.cancelNewTasks();
  }

  private async createRound(count: number, concurrency: number): Promise<void> {
    const first = this.ids.length;
    const bodies = Array.from({ length: count }, (_, offset) => {
      this.facts[first + offset] = taskFacts(first + offset);
      return taskBody(this.facts[first + offset]!);
    });
    const latencies: number[] = [];
    const serverBefore = this.server.cpuSeconds();
    const clientBefore = clientCpuSeconds();
    const started = performance.now();
    await runConcurrently(count, concurrency, async (offset) => {
      const reply = await this.client.json<{ id: string }>('POST', '/tasks', bodies[offset]);
      this.ids[first + offset] = reply.id;
      latencies.push(reply.ms);
    });
    this.rounds.push({
      band: bandOf(first),
      storedBefore: first,
      concurrency,
      creates: count,
      seconds: (performance.now() - started) / 1000,
      latencies,
      serverCpuSeconds: this.server.cpuSeconds() - serverBefore,
      clientCpuSeconds: clientCpuSeconds() - clientBefore,
    });
  }

  /** Cancels the tasks created since the last call that their facts mark as canceled. */
  private async cancelNewTasks(): Promise<void> {
    const chosen: string[] = [];
    for (let i = this.cancelFrom; i < this.ids.length; i += 1) {
      if (this.facts[i]!.canceled) chosen.push(this.ids[i]!);
    }
    this.cancelFrom = this.ids.length;
    const started = performance.now();
    await runConcurrently(chosen.length, 16, async (k) => {
      await this.client.json('POST', `/tasks/${chosen[k]}:cancel`);
    });
    this.cancelSeconds += (performance.now() - started) / 1000;
    this.canceled += chosen.length;
  }
}

// --- Reads -------------------------------------------------------------------

interface Latency {
  p50: number;
  p95: number;
  p99: number;
  runs: number;
  /** Tasks in the page, for lists. */
  tasks?: number;
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * fraction) - 1)]!;
}

function summarize(times: number[]): Latency {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    runs: sorted.length,
  };
}

/** Times GetTask, one request at a time, on tasks picked at random among `ids`. */
async function measureGet(client: ApiClient, ids: readonly string[], view: string) {
  const times: number[] = [];
  for (let run = 0; run < WARMUP_RUNS + GET_RUNS; run += 1) {
    const id = ids[Math.floor(unitHash(run, ids.length) * ids.length)]!;
    const task = await client.json<{ id: string }>('GET', `/tasks/${id}?view=${view}`);
    if (task.id !== id) throw new Error(`GET /tasks/${id} returned task ${task.id}`);
    if (run >= WARMUP_RUNS) times.push(task.ms);
  }
  return summarize(times);
}

/** A ListTasks query and the tasks it must match. */
interface ListCase {
  label: string;
  params: Array<[string, string]>;
  matches: (facts: TaskFacts) => boolean;
  /** Whether to time a page about 90% deep as well. */
  deep?: boolean;
}

const LIST_CASES: ListCase[] = [
  { label: 'no filter', params: [], matches: () => true, deep: true },
  { label: 'state=CANCELED (5%)', params: [['state', 'CANCELED']], matches: (f) => f.canceled },
  {
    label: 'state=QUEUED (95%)',
    params: [['state', 'QUEUED']],
    matches: (f) => !f.canceled,
    deep: true,
  },
  {
    label: 'name_prefix=nf-ALIGN (12%)',
    params: [['name_prefix', 'nf-ALIGN']],
    matches: (f) => f.process === 'ALIGN',
  },
  {
    label: 'tag engine=nextflow (40%)',
    params: [
      ['tag_key', 'engine'],
      ['tag_value', 'nextflow'],
    ],
    matches: (f) => f.engine === 'nextflow',
    deep: true,
  },
  {
    label: 'tag_key=priority, any value (0.2%)',
    params: [['tag_key', 'priority']],
    matches: (f) => f.priority,
  },
  {
    label: 'state=CANCELED, tag engine=nextflow (2%)',
    params: [
      ['state', 'CANCELED'],
      ['tag_key', 'engine'],
      ['tag_value', 'nextflow'],
    ],
    matches: (f) => f.canceled && f.engine === 'nextflow',
  },
];

function listRoute(listCase: ListCase, view: string, pageToken?: string): string {
  const query = new URLSearchParams([
    ...listCase.params,
    ['page_size', String(PAGE_SIZE)],
    ['view', view],
  ]);
  if (pageToken !== undefined) query.append('page_token', pageToken);
  return `/tasks?${query.toString()}`;
}

interface ListPage {
  tasks: Array<{ id: string; state: string }>;
  next_page_token?: string;
}

/**
 * Lists every page of a case in the MINIMAL view and checks that together
 * they hold each expected task once, in the filtered state. Returns the
 * next_page_token of each page but the last, and the seconds the walk took.
 */
async function walkPages(client: ApiClient, listCase: ListCase, expected: number) {
  const started = performance.now();
  const state = listCase.params.find(([name]) => name === 'state')?.[1];
  const seen = new Set<string>();
  const tokens: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.json<ListPage>('GET', listRoute(listCase, 'MINIMAL', token));
    for (const task of page.tasks) {
      if (seen.has(task.id)) throw new Error(`${listCase.label}: task ${task.id} listed twice`);
      if (state !== undefined && task.state !== state) {
        throw new Error(`${listCase.label}: task ${task.id} is ${task.state}`);
      }
      seen.add(task.id);
    }
    token = page.next_page_token;
    if (token !== undefined) tokens.push(token);
  } while (token !== undefined);
  if (seen.size !== expected) {
    throw new Error(`${listCase.label}: the pages list ${seen.size} tasks, expected ${expected}`);
  }
  return { tokens, seconds: (performance.now() - started) / 1000 };
}

/** Times one ListTasks route, one request at a time, for LIST_RUNS runs or CELL_LIMIT_MS. */
async function measureList(client: ApiClient, route: string): Promise<Latency> {
  const times: number[] = [];
  let tasks = 0;
  const started = performance.now();
  for (let run = 0; run < WARMUP_RUNS + LIST_RUNS; run += 1) {
    const page = await client.json<ListPage>('GET', route);
    tasks = page.tasks.length;
    if (run >= WARMUP_RUNS) times.push(page.ms);
    if (run >= WARMUP_RUNS + 20 && performance.now() - started > CELL_LIMIT_MS) break;
  }
  return { ...summarize(times), tasks };
}

/** Latencies by row label, then by store size. */
type Results = Map<string, Map<number, Latency>>;

function record(results: Results, row: string, size: number, latency: Latency): void {
  if (!results.has(row)) results.set(row, new Map());
  results.get(row)!.set(size, latency);
}

/**
 * Measures GetTask and every list case at the current store size. Returns how
 * long listing every task page by page took, without a filter.
 */
async function measureReads(client: ApiClient, filler: StoreFiller, results: Results) {
  let walkSeconds = NaN;
  const size = filler.ids.length;
  for (const view of ['MINIMAL', 'FULL']) {
    record(results, `GetTask ${view}`, size, await measureGet(client, filler.ids, view));
  }
  for (const listCase of LIST_CASES) {
    const expected = filler.facts.filter(listCase.matches).length;
    const { tokens, seconds } = await walkPages(client, listCase, expected);
    if (listCase.params.length === 0) walkSeconds = seconds;
    // A page about 90% deep, but never the last one, which may not be full.
    const deepIndex = Math.floor(0.9 * tokens.length);
    for (const view of ['MINIMAL', 'BASIC']) {
      const first = await measureList(client, listRoute(listCase, view));
      record(results, `${listCase.label}, ${view}`, size, first);
      if (!listCase.deep) continue;
      const deepRow = `${listCase.label}, deep page, ${view}`;
      if (deepIndex < 2) record(results, deepRow, size, { p50: NaN, p95: NaN, p99: NaN, runs: 0 });
      else
        record(
          results,
          deepRow,
          size,
          await measureList(client, listRoute(listCase, view, tokens[deepIndex - 1])),
        );
    }
  }
  return walkSeconds;
}

// --- Report ------------------------------------------------------------------

function ms(value: number): string {
  return Number.isNaN(value) ? '-' : value.toFixed(value < 10 ? 2 : 1);
}

function count(value: number): string {
  return Math.round(value).toLocaleString('en');
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!),
      )
      .join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log('');
}

function machineLines(loadAverage: number): string[] {
  const cpus = os.cpus();
  return [
    `machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${os.type()} ${os.release()}`,
    `Node ${process.version}; load average at the start ${loadAverage.toFixed(2)}; ` +
      'the client and the server share these cores',
  ];
}

/** Rounds from this store size on count as steady state, after the server has warmed up. */
const STEADY_FROM = 10_000;

function percent(part: number, whole: number): string {
  return Number.isNaN(part) ? '-' : `${Math.round((100 * part) / whole)}%`;
}

/** Builds the table row of the merged `rounds` and returns it with their create rate. */
function createRow(label: string, concurrency: number, rounds: readonly CreateRound[]) {
  const sum = (value: (round: CreateRound) => number) =>
    rounds.reduce((total, round) => total + value(round), 0);
  const creates = sum((round) => round.creates);
  const seconds = sum((round) => round.seconds);
  const latencies = rounds.flatMap((round) => round.latencies);
  const latency = summarize(latencies);
  const serverCpu = sum((round) => round.serverCpuSeconds);
  const clientCpu = sum((round) => round.clientCpuSeconds);
  const cells = [
    label,
    String(concurrency),
    count(creates),
    count(creates / seconds),
    ms(latency.p50),
    ms(latency.p95),
    ms(latency.p99),
    ms(Math.max(...latencies)),
    percent(serverCpu, seconds),
    count((1e6 * serverCpu) / creates),
    percent(clientCpu, seconds),
  ];
  return { cells, rate: creates / seconds };
}

/** Merges the rounds of each band and concurrency, then of each concurrency in steady state. */
function createRows(rounds: readonly CreateRound[]) {
  const bands = [...new Set(rounds.map((round) => round.band))];
  const rows: string[][] = [];
  const rates = new Map<number, number>();
  for (const band of bands) {
    for (const concurrency of CONCURRENCIES) {
      const members = rounds.filter((r) => r.band === band && r.concurrency === concurrency);
      if (members.length > 0) rows.push(createRow(band, concurrency, members).cells);
    }
  }
  const steadyLabel = `${count(STEADY_FROM)} → ${count(SIZES.at(-1)!)}`;
  for (const concurrency of CONCURRENCIES) {
    const members = rounds.filter(
      (round) => round.concurrency === concurrency && round.storedBefore >= STEADY_FROM,
    );
    const { cells, rate } = createRow(`${steadyLabel}, all`, concurrency, members);
    rows.push(cells);
    rates.set(concurrency, rate);
  }
  return { rows, rates };
}

function latencyRows(results: Results, labels: readonly string[]): string[][] {
  return labels.map((label) => {
    const bySize = results.get(label)!;
    const cells = SIZES.flatMap((size) => {
      const latency = bySize.get(size)!;
      return [ms(latency.p50), ms(latency.p95), ms(latency.p99)];
    });
    const tasks = SIZES.map((size) => bySize.get(size)!.tasks ?? '-').join('/');
    return label.startsWith('GetTask') ? [label, ...cells] : [label, ...cells, tasks];
  });
}

function latencyHeader(first: string): string[] {
  return [first, ...SIZES.flatMap((size) => [`${size / 1000}k p50`, 'p95', 'p99'])];
}

/** Prints whether each goal of the benchmark is met, with the figure that decides it. */
function printGoals(rates: Map<number, number>, results: Results): void {
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  console.log('goals');
  for (const [concurrency, rate] of rates) {
    console.log(
      `  >= 2,000 creates/s at ${concurrency} in flight: ${count(rate)}/s, ${verdict(rate >= 2000)}`,
    );
  }

  const largest = SIZES.at(-1)!;
  const lists = [...results].filter(([label]) => !label.startsWith('GetTask'));
  const slowest = lists
    .map(([label, bySize]) => ({ label, p50: bySize.get(largest)!.p50 }))
    .sort((a, b) => b.p50 - a.p50)[0]!;
  console.log(
    `  list p50 < 10 ms at ${count(largest)} tasks: slowest ${ms(slowest.p50)} ms ` +
      `(${slowest.label}), ${verdict(slowest.p50 < 10)}`,
  );

  // Only full pages compare: a rare filter has more matches, and so a longer page, in a
  // larger store. Each row is compared from the smallest store size where its page is full.
  const growths = lists
    .map(([label, bySize]) => {
      const fullFrom = SIZES.find((size) => bySize.get(size)!.tasks === PAGE_SIZE);
      const small = bySize.get(fullFrom ?? largest)!;
      const large = bySize.get(largest)!;
      return { label, from: fullFrom, ratio: large.p50 / small.p50, added: large.p50 - small.p50 };
    })
    .filter(({ from }) => from !== undefined && from < largest)
    .sort((a, b) => b.ratio - a.ratio);
  // A rise of at most 50% or at most 1 ms counts as noise on a shared 2-core machine.
  const flat = growths.every(({ ratio, added }) => ratio <= 1.5 || added <= 1);
  const growth = growths[0]!;
  console.log(
    `  list p50 of full pages flat up to ${count(largest)} tasks: largest ratio ` +
      `${growth.ratio.toFixed(2)} (+${ms(growth.added)} ms from ${count(growth.from!)} tasks, ` +
      `${growth.label}), ${verdict(flat)}`,
  );
}

function printReport(loadAverage: number, filler: StoreFiller, results: Results, notes: string[]) {
  for (const line of machineLines(loadAverage)) console.log(line);
  console.log('');

  const bodyBytes = Buffer.byteLength(taskBody(taskFacts(0)));
  console.log(
    `CreateTask: POST /tasks, one task of about ${(bodyBytes / 1000).toFixed(1)} kB each; ` +
      'CPU in % of one core; µs/create is server CPU time per create',
  );
  const { rows, rates } = createRows(filler.rounds);
  printTable(
    [
      'stored tasks',
      'in flight',
      'creates',
      'per s',
      'p50 ms',
      'p95',
      'p99',
      'max',
      'server CPU',
      'µs/create',
      'client CPU',
    ],
    rows,
  );

  console.log(`GetTask: one request at a time, ${GET_RUNS} tasks picked at random, milliseconds`);
  printTable(latencyHeader('view'), latencyRows(results, ['GetTask MINIMAL', 'GetTask FULL']));

  console.log(
    `ListTasks: page_size=${PAGE_SIZE}, one request at a time, up to ${LIST_RUNS} runs per cell, ` +
      'milliseconds; deep pages are about 90% down, reached with page tokens',
  );
  const listLabels = [...results.keys()].filter((label) => !label.startsWith('GetTask'));
  printTable([...latencyHeader('query, view'), 'tasks per page'], latencyRows(results, listLabels));

  for (const line of notes) console.log(line);
  console.log('');
  printGoals(rates, results);
}

// --- Main ------------------------------------------------------------------

/** Fills the store step by step through the API and measures the reads at each size. */
async function runBenchmark(server: ApiServer): Promise<void> {
  const started = performance.now();
  const loadAverage = os.loadavg()[0]!;
  const cpuBefore = {
    machine: machineCpuSeconds(),
    server: server.cpuSeconds(),
    client: clientCpuSeconds(),
  };
  const prefix = server.url.pathname.replace(/\/$/, '');
  const client = new ApiClient(server.url.hostname, Number(server.url.port), prefix);
  const filler = new StoreFiller(client, server);
  const results: Results = new Map();
  let fillSeconds = 0;
  let walkSeconds = NaN;
  for (const size of SIZES) {
    const fillStart = performance.now();
    await filler.fillTo(size);
    fillSeconds += (performance.now() - fillStart) / 1000;
    console.error(`stored ${count(size)} tasks (${fillSeconds.toFixed(1)} s); measuring reads`);
    walkSeconds = await measureReads(client, filler, results);
  }
  client.close();

  const seconds = (performance.now() - started) / 1000;
  // What neither side of the benchmark used went to other processes on the machine.
  const otherCpu =
    machineCpuSeconds() -
    cpuBefore.machine -
    (server.cpuSeconds() - cpuBefore.server) -
    (clientCpuSeconds() - cpuBefore.client);
  printReport(loadAverage, filler, results, [
    `filling to ${count(SIZES.at(-1)!)} tasks over HTTP took ${fillSeconds.toFixed(1)} s, ` +
      `including ${count(filler.canceled)} cancels in ${filler.cancelSeconds.toFixed(1)} s`,
    `listing all ${count(SIZES.at(-1)!)} tasks page by page, MINIMAL view, took ` +
      `${walkSeconds.toFixed(1)} s`,
    `database and WAL: ${(databaseBytes(server.dataDir) / 1e6).toFixed(0)} MB; ` +
      `server memory (RSS) at the end: ${(server.rssBytes() / 1e6).toFixed(0)} MB`,
    `${count(requestsSent)} requests in ${seconds.toFixed(0)} s; other processes used ` +
      `${percent(otherCpu, seconds)} of one core meanwhile`,
  ]);
}

function databaseBytes(dataDir: string): number {
  return ['poiesis.db', 'poiesis.db-wal']
    .map((name) => path.join(dataDir, name))
    .filter((file) => fs.existsSync(file))
    .reduce((sum, file) => sum + fs.statSync(file).size, 0);
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'poiesis-bench-api-'));
  let server: ApiServer | undefined;
  const cleanUp = async () => {
    if (server) await stopServer(server.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const interrupt = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    server = await startServer(dataDir);
    console.error(`api listening on ${server.url.href}, data in ${dataDir}`);
    await runBenchmark(server);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await cleanUp();
  }
}

await main();
