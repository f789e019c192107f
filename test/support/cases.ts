/**
 * The shared task cases: task documents shaped like real clients' with the
 * results a correct server produces. This module prepares a case's files,
 * submits it to a running server, performs its actions and checks every
 * expectation, throwing with all the mismatches at once.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { SHARED_DIR } from './official-spec.js';

const run = promisify(execFile);
const CASES_DIR = path.join(SHARED_DIR, 'cases');
const TERMINAL = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED'];

export interface TaskCase {
  file: string;
  about: string;
  setup?: { files?: Record<string, string>; random_files?: Record<string, number> };
  task: unknown;
  actions?: Array<{ wait_state?: string; cancel?: boolean }>;
  expect: {
    state: string;
    within_seconds?: number;
    exit_codes?: number[];
    stdout?: Array<string | null>;
    stderr?: Array<string | null>;
    stdout_regex?: string[];
    stdout_contains_md5_of?: string;
    files?: Record<string, string>;
    files_matching?: Record<string, string>;
    absent?: string[];
    output_log?: Array<Record<string, string>>;
    output_log_count?: number;
    system_logs_contain?: string;
    no_containers_left?: boolean;
  };
}

export function loadCases(): TaskCase[] {
  return readdirSync(CASES_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ...JSON.parse(readFileSync(path.join(CASES_DIR, file), 'utf8')) }));
}

/** Serves `<work>/http/` on loopback, for the `{{HTTP}}` placeholder. */
export async function serveDirectory(directory: string): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const file = path.join(directory, path.normalize(decodeURIComponent(request.url ?? '/')));
    if (!file.startsWith(directory) || !existsSync(file)) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
}

function prepare(taskCase: TaskCase, work: string): void {
  for (const [name, text] of Object.entries(taskCase.setup?.files ?? {})) {
    mkdirSync(path.dirname(path.join(work, name)), { recursive: true });
    writeFileSync(path.join(work, name), text);
  }
  for (const [name, size] of Object.entries(taskCase.setup?.random_files ?? {})) {
    mkdirSync(path.dirname(path.join(work, name)), { recursive: true });
    writeFileSync(path.join(work, name), randomBytes(size));
  }
}

function substitute(value: unknown, work: string, http: string): unknown {
  return JSON.parse(
    JSON.stringify(value).replaceAll('{{WORK}}', work).replaceAll('{{HTTP}}', http),
  );
}

async function api(baseUrl: string, method: string, route: string, body?: unknown): Promise<any> {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = await response.json();
  if (!response.ok)
    throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

/** Polls the task until `accept` holds, failing after `seconds`. */
async function waitFor(
  baseUrl: string,
  id: string,
  accept: (task: any) => boolean,
  seconds: number,
  what: string,
): Promise<any> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const task = await api(baseUrl, 'GET', `/tasks/${id}?view=FULL`);
    if (accept(task)) return task;
    if (Date.now() > deadline) {
      throw new Error(`task ${id} not ${what} within ${seconds} s: ${JSON.stringify(task)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface CaseRun {
  taskId: string;
  task: any;
  /** Seconds from submission, or from the cancel, to the terminal state. */
  seconds: number;
}

/** Submits a case to the server at `baseUrl` and returns the finished task. */
export async function runCase(
  taskCase: TaskCase,
  options: { baseUrl: string; work: string; http: string; defaultSeconds: number },
): Promise<CaseRun> {
  prepare(taskCase, options.work);
  const document = substitute(taskCase.task, options.work, options.http);
  let started = Date.now();
  const { id } = await api(options.baseUrl, 'POST', '/tasks', document);
  for (const action of taskCase.actions ?? []) {
    if (action.wait_state) {
      const state = action.wait_state;
      await waitFor(options.baseUrl, id, (task) => task.state === state, 60, state);
    }
    if (action.cancel) {
      started = Date.now();
      await api(options.baseUrl, 'POST', `/tasks/${id}:cancel`);
    }
  }
  const limit = taskCase.expect.within_seconds ?? options.defaultSeconds;
  const task = await waitFor(
    options.baseUrl,
    id,
    (candidate) => TERMINAL.includes(candidate.state),
    limit + 30,
    'finished',
  );
  return { taskId: id, task, seconds: (Date.now() - started) / 1000 };
}

/** Every expectation of the case that the run misses, as readable lines. */
export async function checkCase(
  taskCase: TaskCase,
  result: CaseRun,
  options: {
    work: string;
    containersOf: (taskId: string) => Promise<string[]>;
    volumeOf: (taskId: string) => string;
  },
): Promise<string[]> {
  const expected = taskCase.expect;
  const problems: string[] = [];
  const task = result.task;
  const log = task.logs?.[0] ?? {};
  const executorLogs: any[] = log.logs ?? [];
  const fail = (line: string) => problems.push(line);
  const work = options.work;

  if (task.state !== expected.state) fail(`state ${task.state}, expected ${expected.state}`);
  if (expected.within_seconds !== undefined && result.seconds > expected.within_seconds) {
    fail(`took ${result.seconds} s, expected at most ${expected.within_seconds} s`);
  }
  if (expected.exit_codes) {
    const codes = executorLogs.map((entry) => entry.exit_code);
    if (JSON.stringify(codes) !== JSON.stringify(expected.exit_codes)) {
      fail(`exit codes ${JSON.stringify(codes)}, expected ${JSON.stringify(expected.exit_codes)}`);
    }
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    (expected[stream] ?? []).forEach((text, i) => {
      if (text !== null && executorLogs[i]?.[stream] !== text) {
        fail(
          `executor ${i} ${stream} ${JSON.stringify(executorLogs[i]?.[stream])}, expected ${JSON.stringify(text)}`,
        );
      }
    });
  }
  (expected.stdout_regex ?? []).forEach((pattern, i) => {
    if (!new RegExp(pattern).test(executorLogs[i]?.stdout ?? '')) {
      fail(
        `executor ${i} stdout ${JSON.stringify(executorLogs[i]?.stdout)} does not match /${pattern}/`,
      );
    }
  });
  if (expected.stdout_contains_md5_of) {
    const digest = createHash('md5')
      .update(readFileSync(path.join(work, expected.stdout_contains_md5_of)))
      .digest('hex');
    if (!String(executorLogs[0]?.stdout).includes(digest)) {
      fail(`stdout ${JSON.stringify(executorLogs[0]?.stdout)} lacks md5 ${digest}`);
    }
  }
  for (const [name, text] of Object.entries(expected.files ?? {})) {
    const file = path.join(work, name);
    if (!existsSync(file)) fail(`file ${name} missing`);
    else if (readFileSync(file, 'utf8') !== text) {
      fail(
        `file ${name} is ${JSON.stringify(readFileSync(file, 'utf8'))}, expected ${JSON.stringify(text)}`,
      );
    }
  }
  for (const [name, pattern] of Object.entries(expected.files_matching ?? {})) {
    const file = path.join(work, name);
    if (!existsSync(file)) fail(`file ${name} missing`);
    else if (!new RegExp(pattern).test(readFileSync(file, 'utf8'))) {
      fail(`file ${name} does not match /${pattern}/`);
    }
  }
  for (const name of expected.absent ?? []) {
    if (existsSync(path.join(work, name))) fail(`file ${name} exists, expected absent`);
  }
  const outputs: any[] = log.outputs ?? [];
  for (const entry of expected.output_log ?? []) {
    const wanted = substitute(entry, work, '') as Record<string, string>;
    const found = outputs.some((output) =>
      Object.entries(wanted).every(([key, value]) => output[key] === value),
    );
    if (!found) fail(`output log lacks ${JSON.stringify(wanted)}: ${JSON.stringify(outputs)}`);
  }
  if (expected.output_log_count !== undefined && outputs.length !== expected.output_log_count) {
    fail(`output log has ${outputs.length} entries, expected ${expected.output_log_count}`);
  }
  if (expected.system_logs_contain) {
    const text = (log.system_logs ?? []).join('\n');
    if (!text.includes(expected.system_logs_contain)) {
      fail(
        `system logs ${JSON.stringify(text)} lack ${JSON.stringify(expected.system_logs_contain)}`,
      );
    }
  }
  if (expected.no_containers_left) {
    const containers = await options.containersOf(result.taskId);
    if (containers.length > 0) fail(`containers left: ${containers.join(', ')}`);
    if (existsSync(options.volumeOf(result.taskId))) fail('task volume left');
  }
  return problems;
}

/** Names of the containers of a task that the engine still has. */
export async function containersOfTask(engine: string, taskId: string): Promise<string[]> {
  const { stdout } = await run(engine, [
    'ps',
    '-a',
    '--filter',
    `label=org.poiesis.task-id=${taskId}`,
    '--format',
    '{{.Names}}',
  ]);
  return stdout.split('\n').filter((line) => line.trim() !== '');
}
