import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { StateConflictError } from '../../functions/lib/errors.js';
import { configureLogging } from '../../functions/lib/logging.js';
import { UnsupportedSchemaError } from '../../functions/lib/store/errors.js';
import { SqliteTaskStore, openSqliteTaskStore } from '../../functions/lib/store/sqlite.js';
import { buildListQuery, prefixRange } from '../../functions/lib/store/sqlite-list.js';
import { MIGRATIONS, migrate } from '../../functions/lib/store/sqlite-migrations.js';
import type { ListQuery } from '../../functions/lib/store/store.js';
import type { TesState } from '../../functions/lib/tes/schemas.js';
import { describeTaskStoreContract, sampleTask } from './contract.js';

configureLogging('silent');
const require = createRequire(import.meta.url);

const directories: string[] = [];

function temporaryDirectory(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'poiesis-store-'));
  directories.push(directory);
  return directory;
}

after(() => {
  for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

describeTaskStoreContract('SqliteTaskStore', () =>
  Promise.resolve(new SqliteTaskStore({ directory: temporaryDirectory() })),
);

/** Returns the EXPLAIN QUERY PLAN lines of a list query, run on a second connection. */
function queryPlan(file: string, query: ListQuery): string[] {
  const db = new Database(file, { readonly: true });
  try {
    const { sql, params } = buildListQuery(query);
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{
      detail: string;
    }>;
    return rows.map((row) => row.detail);
  } finally {
    db.close();
  }
}

/** Returns the plan lines that read a table without an index. */
function fullScans(plan: readonly string[]): string[] {
  return plan.filter(
    (line) =>
      /^(SCAN|SEARCH) (t|g\d+|tasks|task_tags)\b/.test(line) &&
      !/USING (COVERING )?INDEX|USING PRIMARY KEY/.test(line),
  );
}

describe('SqliteTaskStore', () => {
  let store: SqliteTaskStore | undefined;

  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  describe('file', () => {
    it('created with its directory', async () => {
      const directory = path.join(temporaryDirectory(), 'nested', 'data');
      store = new SqliteTaskStore({ directory });
      expect(fs.existsSync(path.join(directory, 'poiesis.db'))).to.equal(true);
      expect(store.file).to.equal(path.join(directory, 'poiesis.db'));
      expect(store.description).to.equal(`sqlite:${store.file}`);
      await store.create(sampleTask());
    });

    it('file name option', () => {
      const directory = temporaryDirectory();
      store = new SqliteTaskStore({ directory, fileName: 'tasks.sqlite' });
      expect(fs.existsSync(path.join(directory, 'tasks.sqlite'))).to.equal(true);
    });

    it('openSqliteTaskStore takes the file', async () => {
      const file = path.join(temporaryDirectory(), 'sub', 'x.db');
      store = await openSqliteTaskStore(file);
      expect(store.file).to.equal(file);
      expect(fs.existsSync(file)).to.equal(true);
    });

    it('uses WAL mode', () => {
      store = new SqliteTaskStore({ directory: temporaryDirectory() });
      const db = new Database(store.file, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).to.equal('wal');
      db.close();
    });

    it('reopening keeps the tasks', async () => {
      const directory = temporaryDirectory();
      store = new SqliteTaskStore({ directory });
      const first = sampleTask();
      const second = sampleTask({ state: 'RUNNING' });
      await store.create(first);
      await store.create(second);
      await store.transition(first.id, { to: 'INITIALIZING', log: { systemLogs: ['started'] } });
      const before = await store.list({ pageSize: 10, withDocument: true });
      await store.close();

      store = new SqliteTaskStore({ directory });
      const after = await store.list({ pageSize: 10, withDocument: true });
      expect(after).to.deep.equal(before);
      expect((await store.get(first.id))?.logs?.[0]?.system_logs).to.deep.equal(['started']);
    });

    it('close twice resolves', async () => {
      const closing = new SqliteTaskStore({ directory: temporaryDirectory() });
      await closing.close();
      await closing.close();
    });
  });

  describe('schema', () => {
    it('new file gets the latest version', () => {
      store = new SqliteTaskStore({ directory: temporaryDirectory() });
      const db = new Database(store.file, { readonly: true });
      expect(db.pragma('user_version', { simple: true })).to.equal(MIGRATIONS.length);
      db.close();
    });

    it('newer version rejected', async () => {
      const directory = temporaryDirectory();
      const task = sampleTask();
      const older = new SqliteTaskStore({ directory });
      await older.create(task);
      await older.close();
      const db = new Database(path.join(directory, 'poiesis.db'));
      db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
      db.close();

      let error: unknown;
      try {
        store = new SqliteTaskStore({ directory });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(UnsupportedSchemaError);
      expect((error as UnsupportedSchemaError).version).to.equal(MIGRATIONS.length + 1);
      expect((error as UnsupportedSchemaError).supportedVersion).to.equal(MIGRATIONS.length);
      expect((error as Error).message).to.include('upgrade Poiesis');

      const check = new Database(path.join(directory, 'poiesis.db'), { readonly: true });
      expect(check.prepare('SELECT id FROM tasks').all()).to.deep.equal([{ id: task.id }]);
      check.close();
    });

    it('new migration applied and data kept', async () => {
      const directory = temporaryDirectory();
      const task = sampleTask();
      const older = new SqliteTaskStore({ directory });
      await older.create(task);
      await older.close();

      const db = new Database(path.join(directory, 'poiesis.db'));
      const next = [...MIGRATIONS, 'ALTER TABLE tasks ADD COLUMN priority INTEGER'];
      expect(migrate(db, 'test', next)).to.deep.equal({ from: MIGRATIONS.length, to: next.length });
      expect(migrate(db, 'test', next)).to.deep.equal({ from: next.length, to: next.length });
      expect(db.pragma('user_version', { simple: true })).to.equal(next.length);
      expect(db.prepare('SELECT id, priority FROM tasks').all()).to.deep.equal([
        { id: task.id, priority: null },
      ]);
      db.close();
    });

    it('failed migration rolls back', async () => {
      const directory = temporaryDirectory();
      await new SqliteTaskStore({ directory }).close();
      const db = new Database(path.join(directory, 'poiesis.db'));
      const broken = [...MIGRATIONS, 'CREATE TABLE extra (x); SELECT * FROM missing_table'];
      expect(() => migrate(db, 'test', broken)).to.throw(/missing_table/);
      expect(db.pragma('user_version', { simple: true })).to.equal(MIGRATIONS.length);
      const extra = db.prepare("SELECT name FROM sqlite_schema WHERE name = 'extra'").all();
      expect(extra).to.deep.equal([]);
      db.close();
    });
  });

  describe('concurrency', () => {
    it('two stores on one file: one winner', async () => {
      const directory = temporaryDirectory();
      store = new SqliteTaskStore({ directory });
      const other = new SqliteTaskStore({ directory });
      try {
        const task = sampleTask();
        await store.create(task);
        const results = await Promise.allSettled([
          store.transition(task.id, { from: ['QUEUED'], to: 'INITIALIZING' }),
          other.transition(task.id, { from: ['QUEUED'], to: 'CANCELING' }),
        ]);
        expect(results.map((result) => result.status)).to.deep.equal(['fulfilled', 'rejected']);
        expect((results[1] as PromiseRejectedResult).reason).to.be.instanceOf(StateConflictError);
        expect((await other.get(task.id))?.state).to.equal('INITIALIZING');
      } finally {
        await other.close();
      }
    });

    it('transition waits for a writer, then conflicts', async () => {
      const directory = temporaryDirectory();
      store = new SqliteTaskStore({ directory });
      const task = sampleTask();
      await store.create(task);

      // Another connection takes the write lock, moves the task and commits
      // 300 ms later. A transition started meanwhile must wait for the lock
      // and then read the committed state, not the one before it.
      const writer = new Worker(LOCK_HOLDER, {
        eval: true,
        workerData: { driver: require.resolve('better-sqlite3'), file: store.file, id: task.id },
      });
      try {
        const [message] = (await once(writer, 'message')) as [string];
        expect(message).to.equal('locked');
        const error: unknown = await store
          .transition(task.id, { from: ['QUEUED'], to: 'CANCELING' })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(StateConflictError);
        expect((error as StateConflictError).actual).to.equal('INITIALIZING');
        expect((await store.get(task.id))?.state).to.equal('INITIALIZING');
      } finally {
        await writer.terminate();
      }
    });

    it('two processes on one file: one winner per task', async function () {
      this.timeout(60_000);
      const directory = temporaryDirectory();
      store = new SqliteTaskStore({ directory });
      const ids: string[] = [];
      for (let i = 0; i < 200; i += 1) {
        const task = sampleTask();
        await store.create(task);
        ids.push(task.id);
      }
      const targets: TesState[] = ['INITIALIZING', 'CANCELING'];
      const moved = await raceInProcesses(store.file, targets, ids);

      const [first, second] = moved;
      expect(first!.length + second!.length).to.equal(ids.length);
      expect(new Set([...first!, ...second!]).size).to.equal(ids.length);
      for (const [i, movedIds] of moved.entries()) {
        for (const id of movedIds) expect((await store.get(id))?.state).to.equal(targets[i]);
      }
    });
  });

  describe('list queries', () => {
    const common: Array<{ label: string; query: ListQuery }> = [
      { label: 'no filter', query: { pageSize: 256, withDocument: false } },
      { label: 'no filter, documents', query: { pageSize: 256, withDocument: true } },
      { label: 'next page', query: { pageSize: 256, after: 'm', withDocument: true } },
      { label: 'state', query: { state: 'RUNNING', pageSize: 256, withDocument: false } },
      {
        label: 'state, next page',
        query: { state: 'COMPLETE', after: 'm', pageSize: 256, withDocument: true },
      },
      {
        label: 'tag',
        query: { tags: [{ key: 'project', value: 'p1' }], pageSize: 256, withDocument: false },
      },
      {
        label: 'tag key',
        query: { tags: [{ key: 'rare', value: '' }], pageSize: 256, withDocument: true },
      },
      {
        label: 'tag, next page',
        query: {
          tags: [{ key: 'project', value: 'p1' }],
          after: 'm',
          pageSize: 256,
          withDocument: true,
        },
      },
    ];
    const namePrefixes: ListQuery[] = [
      { namePrefix: 'align', pageSize: 256, withDocument: false },
      { namePrefix: 'a', pageSize: 256, after: 'm', withDocument: true },
    ];

    function expectIndexedPlans(file: string): void {
      for (const { label, query } of common) {
        const plan = queryPlan(file, query);
        expect(fullScans(plan), `${label}: ${plan.join(' | ')}`).to.deep.equal([]);
        expect(plan.join('\n'), label).not.to.include('TEMP B-TREE');
      }
      for (const query of namePrefixes) {
        const plan = queryPlan(file, query);
        expect(fullScans(plan), plan.join(' | ')).to.deep.equal([]);
      }
    }

    it('use indexes without sorting', () => {
      store = new SqliteTaskStore({ directory: temporaryDirectory() });
      expectIndexedPlans(store.file);
    });

    it('use indexes without sorting after ANALYZE', async function () {
      this.timeout(60_000);
      store = new SqliteTaskStore({ directory: temporaryDirectory(), statisticsInterval: 500 });
      const states: TesState[] = ['COMPLETE', 'COMPLETE', 'COMPLETE', 'RUNNING', 'SYSTEM_ERROR'];
      for (let i = 0; i < 2000; i += 1) {
        const tags: Record<string, string> = { project: `p${i % 10}` };
        if (i % 100 === 0) tags.rare = 'yes';
        await store.create(
          sampleTask({ state: states[i % states.length], name: `align-${i % 7}`, tags }),
        );
      }
      const db = new Database(store.file, { readonly: true });
      const analyzed = db.prepare("SELECT idx FROM sqlite_stat1 WHERE tbl = 'tasks'").all();
      db.close();
      expect(analyzed).to.not.deep.equal([]);
      expectIndexedPlans(store.file);
    });

    it('listInStates uses the state index', () => {
      store = new SqliteTaskStore({ directory: temporaryDirectory() });
      const db = new Database(store.file, { readonly: true });
      const plan = db
        .prepare('EXPLAIN QUERY PLAN SELECT id, state FROM tasks WHERE state IN (?, ?) ORDER BY id')
        .all('QUEUED', 'RUNNING') as Array<{ detail: string }>;
      db.close();
      expect(plan.map((row) => row.detail).join(' | ')).to.include('INDEX tasks_state');
    });
  });

  describe('prefixRange', () => {
    it('raises the last code point', () => {
      expect(prefixRange('abc')).to.deep.equal({ lower: 'abc', upper: 'abd' });
      expect(prefixRange('a%')).to.deep.equal({ lower: 'a%', upper: 'a&' });
      expect(prefixRange('é')).to.deep.equal({ lower: 'é', upper: 'ê' });
      expect(prefixRange('😀')).to.deep.equal({ lower: '😀', upper: '😁' });
    });

    it('skips the surrogate range', () => {
      expect(prefixRange('a\ud7ff')).to.deep.equal({ lower: 'a\ud7ff', upper: 'a\ue000' });
      expect(prefixRange('\uffff')).to.deep.equal({ lower: '\uffff', upper: '\u{10000}' });
    });

    it('drops trailing U+10FFFF', () => {
      expect(prefixRange('a\u{10ffff}')).to.deep.equal({ lower: 'a\u{10ffff}', upper: 'b' });
      expect(prefixRange('\u{10ffff}\u{10ffff}')).to.deep.equal({ lower: '\u{10ffff}\u{10ffff}' });
    });
  });

  describe('statistics', () => {
    /** Reads the row count of each table at the last ANALYZE. */
    function analyzedCounts(file: string): Record<string, number> {
      const db = new Database(file, { readonly: true });
      try {
        const statTable = db
          .prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'")
          .get();
        if (statTable === undefined) return {};
        const rows = db
          .prepare(
            "SELECT tbl, stat FROM sqlite_stat1 WHERE idx IN ('sqlite_autoindex_tasks_1', 'task_tags_key')",
          )
          .all() as Array<{ tbl: string; stat: string }>;
        return Object.fromEntries(rows.map((row) => [row.tbl, Number.parseInt(row.stat, 10)]));
      } finally {
        db.close();
      }
    }

    async function createTasks(count: number): Promise<void> {
      for (let i = 0; i < count; i += 1) await store!.create(sampleTask());
    }

    it('analyzed when the tasks double', async () => {
      store = new SqliteTaskStore({ directory: temporaryDirectory(), statisticsInterval: 50 });
      await createTasks(50);
      expect(analyzedCounts(store.file)).to.deep.equal({});
      await createTasks(100);
      // Each sample task has two tags.
      expect(analyzedCounts(store.file)).to.deep.equal({ tasks: 100, task_tags: 200 });
      await createTasks(50);
      expect(analyzedCounts(store.file)).to.deep.equal({ tasks: 200, task_tags: 400 });
    });

    it('analyzed at open', async () => {
      const directory = temporaryDirectory();
      store = new SqliteTaskStore({ directory, statisticsInterval: 1000 });
      await createTasks(120);
      expect(analyzedCounts(store.file)).to.deep.equal({});
      await store.close();
      store = new SqliteTaskStore({ directory });
      expect(analyzedCounts(store.file)).to.deep.equal({ tasks: 120, task_tags: 240 });
    });
  });
});

/** A worker that holds the write lock of a database for 300 ms while it moves a task. */
const LOCK_HOLDER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.exec('BEGIN IMMEDIATE');
db.prepare("UPDATE tasks SET state = 'INITIALIZING' WHERE id = ?").run(workerData.id);
parentPort.postMessage('locked');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
db.exec('COMMIT');
db.close();
`;

const RACE_SCRIPT = fileURLToPath(new URL('./transition-race.ts', import.meta.url));

/**
 * Starts one process per target state on the same file, lets them race over
 * `ids` at once and returns the ids each one moved.
 */
async function raceInProcesses(
  file: string,
  targets: readonly TesState[],
  ids: readonly string[],
): Promise<string[][]> {
  const children = targets.map((to) =>
    spawn(process.execPath, ['--import', 'tsx', RACE_SCRIPT, file, to, ...ids], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const exits = children.map((child) => once(child, 'exit') as Promise<[number | null]>);
  const lines = children.map((child) =>
    readline.createInterface({ input: child.stdout })[Symbol.asyncIterator](),
  );
  for (const line of lines) expect((await line.next()).value).to.equal('ready');
  for (const child of children) child.stdin.write('go\n');
  const moved: string[][] = [];
  for (const [i, line] of lines.entries()) {
    moved.push(JSON.parse((await line.next()).value as string) as string[]);
    const [code] = await exits[i]!;
    expect(code).to.equal(0);
  }
  return moved;
}
