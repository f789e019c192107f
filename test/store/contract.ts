/**
 * The contract every TaskStore passes unchanged: call
 * `describeTaskStoreContract` from the test file of each implementation.
 */
import { expect } from 'chai';
import { monotonicFactory } from 'ulid';
import {
  InvalidTransitionError,
  StateConflictError,
  TaskNotFoundError,
} from '../../functions/lib/errors.js';
import { TaskExistsError } from '../../functions/lib/store/errors.js';
import { emptyTaskLog, type TaskStore } from '../../functions/lib/store/store.js';
import { TES_STATES, type Task, type TesState } from '../../functions/lib/tes/schemas.js';
import { canTransition } from '../../functions/lib/tes/states.js';

/** Opens a store that shares no tasks with any store opened before. */
export type OpenEmptyStore = () => Promise<TaskStore>;

const nextUlid = monotonicFactory();

/** A new lowercase ULID; later calls return greater ids, as the API generates them. */
export function newTaskId(): string {
  return nextUlid().toLowerCase();
}

/** Builds a task with every TES field set, the way the API stores a new one. */
export function sampleTask(overrides: Partial<Task> = {}): Task {
  return {
    id: newTaskId(),
    state: 'QUEUED',
    name: 'count lines',
    description: 'Counts the lines of a text file.',
    inputs: [
      { name: 'data', url: 's3://bucket/data.txt', path: '/data/in.txt', type: 'FILE' },
      { content: 'hello\nworld\n', path: '/data/hello.txt', streamable: false },
    ],
    outputs: [
      {
        url: 's3://bucket/out/',
        path: '/data/out/*.txt',
        path_prefix: '/data/out/',
        type: 'FILE',
      },
    ],
    resources: {
      cpu_cores: 2,
      ram_gb: 3.5,
      disk_gb: 10,
      preemptible: false,
      zones: ['zone-a'],
      backend_parameters: { network: 'none' },
      backend_parameters_strict: false,
    },
    executors: [
      {
        image: 'alpine:3.20',
        command: ['wc', '-l', '/data/in.txt'],
        workdir: '/data',
        stdout: '/data/out/count.txt',
        env: { LANG: 'C.UTF-8' },
        ignore_error: false,
      },
    ],
    volumes: ['/scratch'],
    tags: { project: 'poiesis', 'team/owner': 'données' },
    logs: [emptyTaskLog()],
    creation_time: '2026-01-02T03:04:05.678Z',
    ...overrides,
  };
}

/** The rows of the tag filter table of the TES v1.1.0 ListTasks `tag_key` parameter. */
const TAG_FILTER_CASES: ReadonlyArray<{
  filter: Record<string, string>;
  tags: Record<string, string>;
  match: boolean;
}> = [
  { filter: { foo: 'bar' }, tags: { foo: 'bar' }, match: true },
  { filter: { foo: 'bar' }, tags: { foo: 'bat' }, match: false },
  { filter: { foo: '' }, tags: { foo: '' }, match: true },
  { filter: { foo: 'bar', baz: 'bat' }, tags: { foo: 'bar', baz: 'bat' }, match: true },
  { filter: { foo: 'bar' }, tags: { foo: 'bar', baz: 'bat' }, match: true },
  { filter: { foo: 'bar', baz: 'bat' }, tags: { foo: 'bar' }, match: false },
  { filter: { foo: '' }, tags: { foo: 'bar' }, match: true },
  { filter: { foo: '' }, tags: {}, match: false },
];

function tagFilter(filter: Record<string, string>): Array<{ key: string; value: string }> {
  return Object.entries(filter).map(([key, value]) => ({ key, value }));
}

/** Lists every page of a query, checking the page sizes and `lastId` on the way. */
async function listAllPages(
  store: TaskStore,
  query: Omit<Parameters<TaskStore['list']>[0], 'after'>,
): Promise<Task[][]> {
  const pages: Task[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.list({ ...query, after });
    pages.push(page.tasks);
    if (page.lastId === undefined) return pages;
    expect(page.tasks).to.have.length(query.pageSize);
    expect(page.lastId).to.equal(page.tasks[page.tasks.length - 1]!.id);
    after = page.lastId;
  }
}

function ids(tasks: readonly Task[]): string[] {
  return tasks.map((task) => task.id);
}

/** Registers the contract tests of one TaskStore implementation. */
export function describeTaskStoreContract(name: string, openEmptyStore: OpenEmptyStore): void {
  describe(`${name}: TaskStore contract`, () => {
    let store: TaskStore;

    beforeEach(async () => {
      store = await openEmptyStore();
    });

    afterEach(async () => {
      await store.close();
    });

    /** Creates tasks one after the other, so that their ids ascend. */
    async function createAll(tasks: readonly Task[]): Promise<Task[]> {
      for (const task of tasks) await store.create(task);
      return [...tasks];
    }

    describe('create and get', () => {
      it('round trip keeps every field', async () => {
        const task = sampleTask();
        await store.create(task);
        expect(await store.get(task.id)).to.deep.equal(task);
      });

      it('round trip of a task with only required fields', async () => {
        const task: Task = {
          id: newTaskId(),
          state: 'QUEUED',
          executors: [{ image: 'alpine', command: ['true'] }],
          creation_time: '2026-05-06T07:08:09Z',
        };
        await store.create(task);
        expect(await store.get(task.id)).to.deep.equal(task);
      });

      it('keeps the given state and creation time', async () => {
        const task = sampleTask({ state: 'RUNNING', creation_time: '2025-12-31T23:59:59.999999Z' });
        await store.create(task);
        const stored = await store.get(task.id);
        expect(stored?.state).to.equal('RUNNING');
        expect(stored?.creation_time).to.equal('2025-12-31T23:59:59.999999Z');
      });

      it('duplicate id rejected', async () => {
        const task = sampleTask({ name: 'first' });
        await store.create(task);
        const error: unknown = await store
          .create({ ...task, name: 'second' })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(TaskExistsError);
        expect((error as TaskExistsError).taskId).to.equal(task.id);
        expect((await store.get(task.id))?.name).to.equal('first');
      });

      it('concurrent creates with one duplicate', async () => {
        const tasks = Array.from({ length: 20 }, (_, i) => sampleTask({ name: `batch-${i}` }));
        const duplicate = { ...tasks[7]!, name: 'again' };
        const results = await Promise.allSettled([
          ...tasks.map((task) => store.create(task)),
          store.create(duplicate),
        ]);
        expect(results.slice(0, 20).map((result) => result.status)).to.deep.equal(
          Array(20).fill('fulfilled'),
        );
        const last = results[20] as PromiseRejectedResult;
        expect(last.status).to.equal('rejected');
        expect(last.reason).to.be.instanceOf(TaskExistsError);
        for (const task of tasks) expect((await store.get(task.id))?.name).to.equal(task.name);
      });

      it('unknown id returns undefined', async () => {
        expect(await store.get(newTaskId())).to.equal(undefined);
      });

      it('get returns a copy', async () => {
        const task = sampleTask();
        await store.create(task);
        const stored = (await store.get(task.id))!;
        stored.name = 'changed by the caller';
        expect((await store.get(task.id))?.name).to.equal(task.name);
      });
    });

    describe('list', () => {
      it('empty store has an empty last page', async () => {
        const page = await store.list({ pageSize: 10, withDocument: false });
        expect(page.tasks).to.deep.equal([]);
        expect(page).not.to.have.property('lastId');
      });

      it('newest first', async () => {
        const tasks = await createAll([sampleTask(), sampleTask(), sampleTask()]);
        const page = await store.list({ pageSize: 10, withDocument: false });
        expect(ids(page.tasks)).to.deep.equal(ids(tasks).reverse());
        expect(page).not.to.have.property('lastId');
      });

      it('pages have no duplicates or gaps', async () => {
        const tasks = await createAll(Array.from({ length: 10 }, () => sampleTask()));
        const pages = await listAllPages(store, { pageSize: 3, withDocument: false });
        expect(pages.map((page) => page.length)).to.deep.equal([3, 3, 3, 1]);
        expect(ids(pages.flat())).to.deep.equal(ids(tasks).reverse());
      });

      it('exactly full last page has no lastId', async () => {
        const tasks = await createAll(Array.from({ length: 6 }, () => sampleTask()));
        const pages = await listAllPages(store, { pageSize: 3, withDocument: true });
        expect(pages.map((page) => page.length)).to.deep.equal([3, 3]);
        expect(ids(pages.flat())).to.deep.equal(ids(tasks).reverse());
      });

      it('single full page has no lastId', async () => {
        await createAll([sampleTask(), sampleTask()]);
        const page = await store.list({ pageSize: 2, withDocument: false });
        expect(page.tasks).to.have.length(2);
        expect(page).not.to.have.property('lastId');
      });

      it('page size below 1 rejected', async () => {
        const error: unknown = await store
          .list({ pageSize: 0, withDocument: false })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(RangeError);
      });

      it('without document has only id and state', async () => {
        await store.create(sampleTask({ state: 'RUNNING' }));
        const page = await store.list({ pageSize: 10, withDocument: false });
        expect(page.tasks).to.have.length(1);
        expect(Object.keys(page.tasks[0]!).sort()).to.deep.equal(['id', 'state']);
        expect(page.tasks[0]!.state).to.equal('RUNNING');
      });

      it('with document has whole tasks', async () => {
        const tasks = await createAll([sampleTask(), sampleTask({ tags: { other: 'x' } })]);
        const page = await store.list({ pageSize: 10, withDocument: true });
        expect(page.tasks).to.deep.equal([...tasks].reverse());
      });

      it('maxBytes ends a page of documents early', async () => {
        const large = 'x'.repeat(4000);
        const tasks = await createAll(
          Array.from({ length: 5 }, () => sampleTask({ description: large })),
        );
        const newest = [...tasks].reverse();

        const first = await store.list({ pageSize: 10, withDocument: true, maxBytes: 10_000 });
        expect(first.tasks.map((task) => task.id)).to.deep.equal(
          newest.slice(0, 2).map((t) => t.id),
        );
        expect(first.lastId).to.equal(newest[1]!.id);

        const tiny = await store.list({ pageSize: 10, withDocument: true, maxBytes: 1 });
        expect(tiny.tasks).to.have.lengthOf(1);
        expect(tiny.lastId).to.equal(newest[0]!.id);

        const ids = await store.list({ pageSize: 10, withDocument: false, maxBytes: 1 });
        expect(ids.tasks).to.have.lengthOf(5);
      });

      it('lists the current state after a transition', async () => {
        const [task] = await createAll([sampleTask()]);
        await store.transition(task!.id, { to: 'INITIALIZING' });
        for (const withDocument of [false, true]) {
          const page = await store.list({ pageSize: 10, withDocument });
          expect(page.tasks[0]!.state).to.equal('INITIALIZING');
        }
      });

      describe('tag filter', () => {
        for (const { filter, tags, match } of TAG_FILTER_CASES) {
          it(`${JSON.stringify(filter)} on ${JSON.stringify(tags)}: ${match ? 'match' : 'no match'}`, async () => {
            const tagged = sampleTask({ tags });
            await createAll([
              tagged,
              sampleTask({ tags: { other: 'bar' } }),
              sampleTask({ tags: undefined }),
            ]);
            for (const withDocument of [false, true]) {
              const page = await store.list({
                tags: tagFilter(filter),
                pageSize: 10,
                withDocument,
              });
              expect(ids(page.tasks)).to.deep.equal(match ? [tagged.id] : []);
            }
          });
        }

        it('same key twice must match both values', async () => {
          const tagged = await createAll([sampleTask({ tags: { foo: 'bar' } })]);
          const both = [
            { key: 'foo', value: 'bar' },
            { key: 'foo', value: '' },
          ];
          const page = await store.list({ tags: both, pageSize: 10, withDocument: false });
          expect(ids(page.tasks)).to.deep.equal(ids(tagged));
          const conflicting = [
            { key: 'foo', value: 'bar' },
            { key: 'foo', value: 'baz' },
          ];
          const none = await store.list({ tags: conflicting, pageSize: 10, withDocument: false });
          expect(none.tasks).to.deep.equal([]);
        });

        it('pages through many matches', async () => {
          const tasks = await createAll(
            Array.from({ length: 14 }, (_, i) =>
              sampleTask({ tags: { batch: i % 2 === 0 ? 'even' : 'odd' } }),
            ),
          );
          const even = tasks.filter((task) => task.tags?.batch === 'even');
          const pages = await listAllPages(store, {
            tags: [{ key: 'batch', value: 'even' }],
            pageSize: 3,
            withDocument: true,
          });
          expect(pages.map((page) => page.length)).to.deep.equal([3, 3, 1]);
          expect(pages.flat()).to.deep.equal([...even].reverse());
        });
      });

      describe('name prefix', () => {
        async function namesMatching(namePrefix: string): Promise<string[]> {
          const page = await store.list({ namePrefix, pageSize: 100, withDocument: true });
          return page.tasks.map((task) => task.name ?? '(no name)');
        }

        it('exact and case-sensitive', async () => {
          const names = ['align-1', 'Align-2', 'alignment', 'sort-1', 'align-3', 'alig'];
          await createAll(names.map((name) => sampleTask({ name })));
          await createAll([sampleTask({ name: undefined })]);
          expect(await namesMatching('align')).to.deep.equal(['align-3', 'alignment', 'align-1']);
          expect(await namesMatching('Align')).to.deep.equal(['Align-2']);
          expect(await namesMatching('align-1')).to.deep.equal(['align-1']);
          expect(await namesMatching('aligned')).to.deep.equal([]);
        });

        it('wildcard characters are literal', async () => {
          const names = ['a%b', 'axb', 'a_b', 'a*b', 'a?b', 'a[b]', 'a%', 'a\\b', 'ab'];
          await createAll(names.map((name) => sampleTask({ name })));
          expect(await namesMatching('a%')).to.deep.equal(['a%', 'a%b']);
          expect(await namesMatching('a_')).to.deep.equal(['a_b']);
          expect(await namesMatching('a*')).to.deep.equal(['a*b']);
          expect(await namesMatching('a?')).to.deep.equal(['a?b']);
          expect(await namesMatching('a[')).to.deep.equal(['a[b]']);
          expect(await namesMatching('a\\')).to.deep.equal(['a\\b']);
        });

        it('non-ASCII characters', async () => {
          const names = [
            'été',
            'étage',
            'ete',
            'êta',
            '😀 smile',
            '😀',
            '😁',
            '\uffff',
            'ﬀ',
            '\u{10ffff}x',
            '\u{10ffff}',
          ];
          await createAll(names.map((name) => sampleTask({ name })));
          expect(await namesMatching('ét')).to.deep.equal(['étage', 'été']);
          expect(await namesMatching('é')).to.deep.equal(['étage', 'été']);
          expect(await namesMatching('😀')).to.deep.equal(['😀', '😀 smile']);
          expect(await namesMatching('\uffff')).to.deep.equal(['\uffff']);
          expect(await namesMatching('\u{10ffff}')).to.deep.equal(['\u{10ffff}', '\u{10ffff}x']);
        });

        it('empty prefix lists every task', async () => {
          const tasks = await createAll([
            sampleTask({ name: 'x' }),
            sampleTask({ name: undefined }),
          ]);
          const page = await store.list({ namePrefix: '', pageSize: 10, withDocument: false });
          expect(ids(page.tasks)).to.deep.equal(ids(tasks).reverse());
        });
      });

      it('state filter', async () => {
        const states: TesState[] = [
          'QUEUED',
          'RUNNING',
          'COMPLETE',
          'RUNNING',
          'SYSTEM_ERROR',
          'RUNNING',
        ];
        const tasks = await createAll(states.map((state) => sampleTask({ state })));
        const running = tasks.filter((task) => task.state === 'RUNNING');
        const pages = await listAllPages(store, {
          state: 'RUNNING',
          pageSize: 2,
          withDocument: false,
        });
        expect(pages.map((page) => page.length)).to.deep.equal([2, 1]);
        expect(ids(pages.flat())).to.deep.equal(ids(running).reverse());
        expect(pages.flat().every((task) => task.state === 'RUNNING')).to.equal(true);
        const canceled = await store.list({ state: 'CANCELED', pageSize: 2, withDocument: false });
        expect(canceled.tasks).to.deep.equal([]);
      });

      it('combined filters', async () => {
        const tasks: Task[] = [];
        for (let i = 0; i < 24; i += 1) {
          tasks.push(
            sampleTask({
              name: i % 3 === 0 ? `align-${i}` : `sort-${i}`,
              state: i % 2 === 0 ? 'COMPLETE' : 'RUNNING',
              tags: i % 4 < 2 ? { project: 'a', owner: 'ann' } : { project: 'b' },
            }),
          );
        }
        await createAll(tasks);
        const expected = tasks.filter(
          (task) =>
            task.name!.startsWith('align') &&
            task.state === 'COMPLETE' &&
            task.tags?.project === 'a' &&
            task.tags.owner !== undefined,
        );
        expect(expected).to.have.length.greaterThan(1);
        const pages = await listAllPages(store, {
          namePrefix: 'align',
          state: 'COMPLETE',
          tags: [
            { key: 'project', value: 'a' },
            { key: 'owner', value: '' },
          ],
          pageSize: 1,
          withDocument: true,
        });
        expect(pages.flat()).to.deep.equal([...expected].reverse());
      });
    });

    describe('transition', () => {
      const allowed = TES_STATES.flatMap((from) =>
        TES_STATES.filter((to) => canTransition(from, to)).map((to) => ({ from, to })),
      );
      const forbidden = TES_STATES.flatMap((from) =>
        TES_STATES.filter((to) => !canTransition(from, to)).map((to) => ({ from, to })),
      );

      it('every allowed transition', async () => {
        expect(allowed).to.have.length.greaterThan(0);
        for (const { from, to } of allowed) {
          const task = sampleTask({ state: from });
          await store.create(task);
          const moved = await store.transition(task.id, { from: [from], to });
          expect(moved.state, `${from} → ${to}`).to.equal(to);
          expect((await store.get(task.id))?.state, `${from} → ${to} stored`).to.equal(to);
        }
      });

      it('every forbidden transition', async () => {
        for (const { from, to } of forbidden) {
          const task = sampleTask({ state: from });
          await store.create(task);
          const error: unknown = await store.transition(task.id, { to }).catch((e: unknown) => e);
          expect(error, `${from} → ${to}`).to.be.instanceOf(InvalidTransitionError);
          expect((error as InvalidTransitionError).from).to.equal(from);
          expect((error as InvalidTransitionError).to).to.equal(to);
          expect((await store.get(task.id))?.state, `${from} → ${to} stored`).to.equal(from);
        }
      });

      it('returns the whole stored task', async () => {
        const task = sampleTask();
        await store.create(task);
        const moved = await store.transition(task.id, { to: 'INITIALIZING' });
        expect(moved).to.deep.equal({ ...task, state: 'INITIALIZING' });
        expect(await store.get(task.id)).to.deep.equal(moved);
      });

      it('unknown task throws TaskNotFoundError', async () => {
        const id = newTaskId();
        const error: unknown = await store
          .transition(id, { to: 'INITIALIZING' })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(TaskNotFoundError);
        expect((error as TaskNotFoundError).taskId).to.equal(id);
      });

      it('unmet from throws StateConflictError', async () => {
        const task = sampleTask({ state: 'RUNNING' });
        await store.create(task);
        const error: unknown = await store
          .transition(task.id, {
            from: ['QUEUED', 'INITIALIZING'],
            to: 'SYSTEM_ERROR',
            log: { systemLogs: ['should not be written'] },
          })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(StateConflictError);
        expect((error as StateConflictError).actual).to.equal('RUNNING');
        expect((error as StateConflictError).expected).to.deep.equal(['QUEUED', 'INITIALIZING']);
        expect(await store.get(task.id)).to.deep.equal(task);
      });

      it('from is checked before the state machine', async () => {
        const task = sampleTask({ state: 'COMPLETE' });
        await store.create(task);
        const error: unknown = await store
          .transition(task.id, { from: ['RUNNING'], to: 'RUNNING' })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(StateConflictError);
      });

      it('racing transitions have one winner', async () => {
        const task = sampleTask();
        await store.create(task);
        const targets: TesState[] = ['INITIALIZING', 'CANCELING', 'SYSTEM_ERROR', 'INITIALIZING'];
        const results = await Promise.allSettled(
          targets.map((to) =>
            store.transition(task.id, {
              from: ['QUEUED'],
              to,
              log: { systemLogs: [`moved to ${to}`] },
            }),
          ),
        );
        const winners = results.flatMap((result) =>
          result.status === 'fulfilled' ? [result.value] : [],
        );
        const losers = results.flatMap((result) =>
          result.status === 'rejected' ? [result.reason] : [],
        );
        expect(winners).to.have.length(1);
        expect(losers).to.have.length(targets.length - 1);
        for (const loser of losers) expect(loser).to.be.instanceOf(StateConflictError);
        const stored = await store.get(task.id);
        expect(stored?.state).to.equal(winners[0]!.state);
        expect(stored?.logs?.[0]?.system_logs).to.deep.equal([`moved to ${winners[0]!.state}`]);
      });

      it('applies the log patch with the state', async () => {
        const task = sampleTask();
        await store.create(task);
        const moved = await store.transition(task.id, {
          to: 'INITIALIZING',
          log: { start_time: '2026-01-02T03:04:06Z', systemLogs: ['volume created'] },
        });
        const log = moved.logs?.[0];
        expect(log?.start_time).to.equal('2026-01-02T03:04:06Z');
        expect(log?.system_logs).to.deep.equal(['volume created']);
        expect(await store.get(task.id)).to.deep.equal(moved);
      });

      it('patch error leaves the state unchanged', async () => {
        const task = sampleTask({ state: 'RUNNING' });
        await store.create(task);
        const error: unknown = await store
          .transition(task.id, {
            to: 'COMPLETE',
            log: { executor: { index: 3, log: { exit_code: 0 } } },
          })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(RangeError);
        expect(await store.get(task.id)).to.deep.equal(task);
      });
    });

    describe('updateLog', () => {
      async function stored(task: Task) {
        await store.create(task);
        return task.id;
      }

      it('writes executor logs', async () => {
        const id = await stored(sampleTask({ state: 'RUNNING' }));
        await store.updateLog(id, {
          executor: { index: 0, log: { start_time: '2026-01-02T03:05:00Z' } },
        });
        await store.updateLog(id, {
          executor: {
            index: 0,
            log: { end_time: '2026-01-02T03:06:00Z', stdout: '2\n', exit_code: 0 },
          },
        });
        const task = await store.updateLog(id, {
          executor: { index: 1, log: { start_time: '2026-01-02T03:06:01Z', exit_code: 3 } },
        });
        expect(task.logs?.[0]?.logs).to.deep.equal([
          {
            start_time: '2026-01-02T03:05:00Z',
            end_time: '2026-01-02T03:06:00Z',
            stdout: '2\n',
            exit_code: 0,
          },
          { start_time: '2026-01-02T03:06:01Z', exit_code: 3 },
        ]);
        expect(await store.get(id)).to.deep.equal(task);
      });

      it('executor log after a gap rejected', async () => {
        const task = sampleTask({ state: 'RUNNING' });
        const id = await stored(task);
        const error: unknown = await store
          .updateLog(id, { executor: { index: 1, log: { exit_code: 0 } } })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(RangeError);
        expect(await store.get(id)).to.deep.equal(task);
      });

      it('negative executor index rejected', async () => {
        const task = sampleTask({ state: 'RUNNING' });
        const id = await stored(task);
        const error: unknown = await store
          .updateLog(id, { executor: { index: -1, log: { exit_code: 0 } } })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(RangeError);
        expect(await store.get(id)).to.deep.equal(task);
      });

      it('appends system logs', async () => {
        const id = await stored(sampleTask());
        await store.updateLog(id, { systemLogs: ['first'] });
        const task = await store.updateLog(id, { systemLogs: ['second', 'third'] });
        expect(task.logs?.[0]?.system_logs).to.deep.equal(['first', 'second', 'third']);
      });

      it('replaces outputs', async () => {
        const id = await stored(sampleTask());
        await store.updateLog(id, {
          outputs: [{ url: 's3://b/a.txt', path: '/data/out/a.txt', size_bytes: '1' }],
        });
        const outputs = [
          { url: 's3://b/b.txt', path: '/data/out/b.txt', size_bytes: '20' },
          { url: 's3://b/c.txt', path: '/data/out/c.txt', size_bytes: '9007199254740993' },
        ];
        const task = await store.updateLog(id, { outputs });
        expect(task.logs?.[0]?.outputs).to.deep.equal(outputs);
      });

      it('merges metadata', async () => {
        const id = await stored(sampleTask());
        await store.updateLog(id, { metadata: { node: 'a', attempt: '1' } });
        const task = await store.updateLog(id, { metadata: { attempt: '2', volume: 'v' } });
        expect(task.logs?.[0]?.metadata).to.deep.equal({ node: 'a', attempt: '2', volume: 'v' });
      });

      it('sets start and end times', async () => {
        const id = await stored(sampleTask());
        await store.updateLog(id, { start_time: '2026-01-02T03:04:06Z' });
        const task = await store.updateLog(id, { end_time: '2026-01-02T03:09:00Z' });
        expect(task.logs?.[0]?.start_time).to.equal('2026-01-02T03:04:06Z');
        expect(task.logs?.[0]?.end_time).to.equal('2026-01-02T03:09:00Z');
      });

      it('keeps the state and the document', async () => {
        const original = sampleTask({ state: 'RUNNING' });
        const id = await stored(original);
        const task = await store.updateLog(id, { systemLogs: ['note'] });
        const { logs: _logs, ...document } = task;
        const { logs: _originalLogs, ...originalDocument } = original;
        expect(document).to.deep.equal(originalDocument);
      });

      it('task without logs gets its first log', async () => {
        const id = await stored(sampleTask({ logs: undefined }));
        const task = await store.updateLog(id, { systemLogs: ['first note'] });
        expect(task.logs).to.deep.equal([{ ...emptyTaskLog(), system_logs: ['first note'] }]);
      });

      it('patches the last of several logs', async () => {
        const id = await stored(sampleTask({ logs: [emptyTaskLog(), emptyTaskLog()] }));
        const task = await store.updateLog(id, { systemLogs: ['second attempt'] });
        expect(task.logs?.[0]).to.deep.equal(emptyTaskLog());
        expect(task.logs?.[1]?.system_logs).to.deep.equal(['second attempt']);
      });

      it('concurrent appends all stored', async () => {
        const id = await stored(sampleTask());
        const notes = Array.from({ length: 20 }, (_, i) => `note ${i}`);
        await Promise.all(notes.map((note) => store.updateLog(id, { systemLogs: [note] })));
        const kept = (await store.get(id))?.logs?.[0]?.system_logs ?? [];
        expect([...kept].sort()).to.deep.equal([...notes].sort());
      });

      it('unknown task throws TaskNotFoundError', async () => {
        const error: unknown = await store
          .updateLog(newTaskId(), { systemLogs: ['x'] })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(TaskNotFoundError);
      });
    });

    describe('listInStates', () => {
      it('ids and states oldest first', async () => {
        const states: TesState[] = [
          'RUNNING',
          'COMPLETE',
          'QUEUED',
          'CANCELING',
          'RUNNING',
          'SYSTEM_ERROR',
        ];
        const tasks = await createAll(states.map((state) => sampleTask({ state })));
        const active = await store.listInStates(['QUEUED', 'RUNNING', 'CANCELING']);
        expect(active).to.deep.equal(
          tasks
            .filter((task) => ['QUEUED', 'RUNNING', 'CANCELING'].includes(task.state))
            .map(({ id, state }) => ({ id, state })),
        );
      });

      it('no states lists nothing', async () => {
        await createAll([sampleTask()]);
        expect(await store.listInStates([])).to.deep.equal([]);
      });

      it('follows transitions', async () => {
        const [task] = await createAll([sampleTask()]);
        await store.transition(task!.id, { to: 'CANCELING' });
        expect(await store.listInStates(['QUEUED'])).to.deep.equal([]);
        expect(await store.listInStates(['CANCELING'])).to.deep.equal([
          { id: task!.id, state: 'CANCELING' },
        ]);
      });
    });

    describe('close', () => {
      it('later calls reject', async () => {
        const other = await openEmptyStore();
        const task = sampleTask();
        await other.create(task);
        await other.close();
        const error: unknown = await other.get(task.id).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(Error);
      });
    });
  });
}
