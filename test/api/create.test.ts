import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { startApi, minimalTask, type ApiHarness } from '../support/api-harness.js';
import { assertOfficial } from '../support/official-spec.js';

/** Returns an object nested `depth` levels deep: `{ a: { a: ... } }`. */
function nested(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let current = root;
  for (let level = 1; level < depth; level++) {
    const child: Record<string, unknown> = {};
    current.a = child;
    current = child;
  }
  return root;
}

/** Returns {@link nested} as JSON text, which `JSON.stringify` cannot write that deep. */
function nestedJson(depth: number): string {
  return `${'{"a": '.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
}

describe('api: CreateTask', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApi();
  });
  after(async () => {
    await api.destroy();
  });

  /** Posts a task and returns the 400 message, failing if the status is not 400. */
  async function rejection(task: unknown): Promise<string> {
    const response = await api.request('POST', '/tasks', task);
    expect(response.status, JSON.stringify(response.body)).to.equal(400);
    expect(response.body.status_code).to.equal(400);
    assertOfficialError(response.body);
    return response.body.msg as string;
  }

  function assertOfficialError(body: unknown) {
    expect(body).to.have.all.keys('msg', 'status_code');
  }

  it('returns an id and stores the task as QUEUED', async () => {
    const response = await api.request('POST', '/tasks', minimalTask({ name: 'one' }));
    expect(response.status).to.equal(200);
    assertOfficial('tesCreateTaskResponse', response.body);
    const id = response.body.id as string;
    expect(id).to.match(/^[0-9a-z]{26}$/);
    const stored = await api.store.get(id);
    expect(stored?.state).to.equal('QUEUED');
    expect(stored?.name).to.equal('one');
    expect(Date.parse(stored!.creation_time)).to.be.closeTo(Date.now(), 60_000);
  });

  it('announces the new task', async () => {
    const response = await api.request('POST', '/tasks', minimalTask());
    expect(api.events.sent).to.deep.include({ kind: 'taskCreated', taskId: response.body.id });
  });

  it('stores the task when the broker is down', async () => {
    api.events.failing = true;
    try {
      const response = await api.request('POST', '/tasks', minimalTask());
      expect(response.status).to.equal(200);
      expect((await api.store.get(response.body.id))?.state).to.equal('QUEUED');
    } finally {
      api.events.failing = false;
    }
  });

  it('ids sort by creation time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push((await api.request('POST', '/tasks', minimalTask())).body.id);
    expect([...ids].sort()).to.deep.equal(ids);
  });

  it('ignores server-set fields in the request', async () => {
    const task = minimalTask({
      id: 'mine',
      state: 'COMPLETE',
      creation_time: '2000-01-01T00:00:00Z',
      logs: [{ logs: [], outputs: [] }],
    });
    const { body } = await api.request('POST', '/tasks', task);
    const stored = await api.store.get(body.id);
    expect(stored?.id).to.equal(body.id);
    expect(stored?.state).to.equal('QUEUED');
    expect(stored?.creation_time).to.not.equal('2000-01-01T00:00:00Z');
  });

  it('fills in FILE as the default input and output type', async () => {
    const task = minimalTask({
      inputs: [{ path: '/in/a', content: 'x' }],
      outputs: [{ path: '/out/b', url: 'file:///tmp/b' }],
    });
    const { body } = await api.request('POST', '/tasks', task);
    const stored = await api.store.get(body.id);
    expect(stored?.inputs?.[0]?.type).to.equal('FILE');
    expect(stored?.outputs?.[0]?.type).to.equal('FILE');
  });

  it('accepts 128 KiB of content', async () => {
    const content = 'a'.repeat(128 * 1024);
    const response = await api.request(
      'POST',
      '/tasks',
      minimalTask({ inputs: [{ path: '/in/big', content }] }),
    );
    expect(response.status).to.equal(200);
    expect((await api.store.get(response.body.id))?.inputs?.[0]?.content).to.have.length(
      128 * 1024,
    );
  });

  it('treats null members as absent', async () => {
    const response = await api.request(
      'POST',
      '/tasks',
      minimalTask({ name: null, tags: null, inputs: null, resources: { cpu_cores: null } }),
    );
    expect(response.status).to.equal(200);
  });

  describe('validation', () => {
    const cases: Array<[string, unknown, string]> = [
      ['executors missing', {}, 'executors: required'],
      ['executors empty', { executors: [] }, 'executors: must not be empty'],
      ['image missing', { executors: [{ command: ['x'] }] }, 'executors[0].image: required'],
      [
        'image empty',
        { executors: [{ image: '', command: ['x'] }] },
        'executors[0].image: must not be empty',
      ],
      ['command missing', { executors: [{ image: 'a' }] }, 'executors[0].command: required'],
      [
        'command a string',
        { executors: [{ image: 'a', command: 'echo hi' }] },
        'executors[0].command: must be an array',
      ],
      [
        'command empty',
        { executors: [{ image: 'a', command: [] }] },
        'executors[0].command: must not be empty',
      ],
      ['name a number', minimalTask({ name: 5 }), 'name: must be a string'],
      ['tag value a number', minimalTask({ tags: { a: 1 } }), 'tags.a: must be a string'],
      [
        'env value a number',
        { executors: [{ image: 'a', command: ['x'], env: { A: 1 } }] },
        'executors[0].env.A: must be a string',
      ],
      [
        'env name with =',
        { executors: [{ image: 'a', command: ['x'], env: { 'A=B': 'c' } }] },
        'executors[0].env: variable name "A=B"',
      ],
      [
        'input type unknown',
        minimalTask({ inputs: [{ path: '/a', content: 'x', type: 'LINK' }] }),
        'inputs[0].type: must be one of FILE, DIRECTORY',
      ],
      [
        'input path relative',
        minimalTask({ inputs: [{ path: 'data/a', content: 'x' }] }),
        'inputs[0].path: must be an absolute path, got "data/a"',
      ],
      [
        'input path with ..',
        minimalTask({ inputs: [{ path: '/data/../etc/passwd', content: 'x' }] }),
        'inputs[0].path: must not contain ".." segments',
      ],
      [
        'input path missing',
        minimalTask({ inputs: [{ content: 'x' }] }),
        'inputs[0].path: required',
      ],
      [
        'input without url or content',
        minimalTask({ inputs: [{ path: '/a' }] }),
        'inputs[0]: url or content required',
      ],
      [
        'input url scheme unsupported',
        minimalTask({ inputs: [{ path: '/a', url: 'gs://b/c' }] }),
        'inputs[0].url: scheme "gs" is not supported; supported: file, http, https',
      ],
      [
        'input url not a URL',
        minimalTask({ inputs: [{ path: '/a', url: 'relative/file' }] }),
        'inputs[0].url: "relative/file" is not a URL or an absolute path',
      ],
      [
        'content with DIRECTORY',
        minimalTask({ inputs: [{ path: '/a', content: 'x', type: 'DIRECTORY' }] }),
        'inputs[0].type: content makes a file',
      ],
      [
        'output url missing',
        minimalTask({ outputs: [{ path: '/a' }] }),
        'outputs[0].url: required',
      ],
      [
        'output path relative',
        minimalTask({ outputs: [{ path: 'a', url: 'file:///tmp/a' }] }),
        'outputs[0].path: must be an absolute path',
      ],
      [
        'output scheme unsupported',
        minimalTask({ outputs: [{ path: '/a', url: 'http://host/a' }] }),
        'outputs[0].url: scheme "http" is not supported; supported: file',
      ],
      [
        'wildcard without path_prefix',
        minimalTask({ outputs: [{ path: '/out/*.txt', url: 'file:///tmp/r/' }] }),
        'outputs[0].path_prefix: required when path has wildcards',
      ],
      [
        '? wildcard without path_prefix',
        minimalTask({ outputs: [{ path: '/out/a?.txt', url: 'file:///tmp/r/' }] }),
        'outputs[0].path_prefix: required when path has wildcards',
      ],
      [
        'bracket wildcard without path_prefix',
        minimalTask({ outputs: [{ path: '/out/[ab].txt', url: 'file:///tmp/r/' }] }),
        'outputs[0].path_prefix: required when path has wildcards',
      ],
      [
        'path_prefix not a prefix',
        minimalTask({
          outputs: [{ path: '/out/*.txt', path_prefix: '/other/', url: 'file:///tmp/r/' }],
        }),
        'outputs[0].path_prefix: "/other/" is not a prefix of path "/out/*.txt"',
      ],
      [
        'volume relative',
        minimalTask({ volumes: ['vol'] }),
        'volumes[0]: must be an absolute path',
      ],
      [
        'workdir relative',
        { executors: [{ image: 'a', command: ['x'], workdir: 'w' }] },
        'executors[0].workdir: must be an absolute path',
      ],
      [
        'stdin with ..',
        { executors: [{ image: 'a', command: ['x'], stdin: '/a/../b' }] },
        'executors[0].stdin: must not contain ".." segments',
      ],
      [
        'stdout relative',
        { executors: [{ image: 'a', command: ['x'], stdout: 'out' }] },
        'executors[0].stdout: must be an absolute path',
      ],
      [
        'stderr relative',
        { executors: [{ image: 'a', command: ['x'], stderr: 'err' }] },
        'executors[0].stderr: must be an absolute path',
      ],
      [
        'cpu_cores zero',
        minimalTask({ resources: { cpu_cores: 0 } }),
        'resources.cpu_cores: must be >= 1',
      ],
      [
        'cpu_cores fractional',
        minimalTask({ resources: { cpu_cores: 1.5 } }),
        'resources.cpu_cores: must be an integer',
      ],
      [
        'cpu_cores above int32',
        minimalTask({ resources: { cpu_cores: 2 ** 31 } }),
        'resources.cpu_cores: must be at most 2147483647',
      ],
      ['ram_gb zero', minimalTask({ resources: { ram_gb: 0 } }), 'resources.ram_gb: must be > 0'],
      [
        'disk_gb negative',
        minimalTask({ resources: { disk_gb: -1 } }),
        'resources.disk_gb: must be > 0',
      ],
      [
        'preemptible a string',
        minimalTask({ resources: { preemptible: 'yes' } }),
        'resources.preemptible: must be true or false',
      ],
      [
        'strict unsupported backend parameter',
        minimalTask({
          resources: { backend_parameters: { VmSize: 'x' }, backend_parameters_strict: true },
        }),
        'resources.backend_parameters: unsupported keys VmSize with backend_parameters_strict; supported: network',
      ],
      ['body an array', [], 'body: must be a JSON object'],
      [
        'body nested 5,000 levels',
        `{"executors": [{"image": "a", "command": ["x"]}], "tags": ${nestedJson(5000)}}`,
        'body: objects and arrays are nested deeper than the limit of 64 levels',
      ],
      [
        'NUL in a command argument',
        { executors: [{ image: 'a', command: ['echo', 'a\0b'] }] },
        'executors[0].command[1]: must not contain a NUL character',
      ],
      [
        'NUL in the image',
        { executors: [{ image: 'alpine\0', command: ['x'] }] },
        'executors[0].image: must not contain a NUL character',
      ],
      [
        'NUL in an env name',
        { executors: [{ image: 'a', command: ['x'], env: { 'A\0': 'b' } }] },
        'executors[0].env: variable name "A\\u0000" is not supported',
      ],
      [
        'NUL in an env value',
        { executors: [{ image: 'a', command: ['x'], env: { A: 'b\0' } }] },
        'executors[0].env.A: must not contain a NUL character',
      ],
      [
        'NUL in an input path',
        minimalTask({ inputs: [{ path: '/in/a\0', content: 'x' }] }),
        'inputs[0].path: must not contain a NUL character',
      ],
      [
        'NUL in an output path',
        minimalTask({ outputs: [{ path: '/out/a\0', url: 'file:///tmp/a' }] }),
        'outputs[0].path: must not contain a NUL character',
      ],
      [
        'NUL in a volume',
        minimalTask({ volumes: ['/data\0'] }),
        'volumes[0]: must not contain a NUL character',
      ],
      [
        'NUL in workdir',
        { executors: [{ image: 'a', command: ['x'], workdir: '/w\0' }] },
        'executors[0].workdir: must not contain a NUL character',
      ],
      [
        'NUL in an input url',
        minimalTask({ inputs: [{ path: '/a', url: 'file:///tmp/a\0' }] }),
        'inputs[0].url: must not contain a NUL character',
      ],
      [
        'encoded NUL in a file url',
        minimalTask({ inputs: [{ path: '/a', url: 'file:///tmp/a%00' }] }),
        'inputs[0].url: must not contain an encoded NUL character (%00)',
      ],
      [
        'NUL in an output url',
        minimalTask({ outputs: [{ path: '/a', url: 'file:///tmp/a\0' }] }),
        'outputs[0].url: must not contain a NUL character',
      ],
      [
        'env name with -',
        { executors: [{ image: 'a', command: ['x'], env: { 'MY-VAR': 'b' } }] },
        'executors[0].env: variable name "MY-VAR" is not supported; ' +
          'use letters, digits and _ and do not start with a digit',
      ],
      [
        'env name with .',
        { executors: [{ image: 'a', command: ['x'], env: { 'a.b': 'c' } }] },
        'executors[0].env: variable name "a.b" is not supported',
      ],
      [
        'env name starting with a digit',
        { executors: [{ image: 'a', command: ['x'], env: { '1X': 'c' } }] },
        'executors[0].env: variable name "1X" is not supported',
      ],
      [
        'ram_gb 1e300',
        minimalTask({ resources: { ram_gb: 1e300 } }),
        'resources.ram_gb: must be at most 1048576',
      ],
      [
        'disk_gb 1e300',
        minimalTask({ resources: { disk_gb: 1e300 } }),
        'resources.disk_gb: must be at most 1048576',
      ],
      [
        'input path /',
        minimalTask({ inputs: [{ path: '/', content: 'x' }] }),
        'inputs[0].path: mounting / would hide the whole image',
      ],
      [
        'input under /dev',
        minimalTask({ inputs: [{ path: '/dev/data', content: 'x' }] }),
        'inputs[0].path: /dev/data is inside /dev',
      ],
      [
        'output under /proc',
        minimalTask({ outputs: [{ path: '/proc/result', url: 'file:///tmp/r' }] }),
        'outputs[0].path: /proc/result is inside /proc',
      ],
      [
        'output under /.poiesis',
        minimalTask({ outputs: [{ path: '/.poiesis/out/r', url: 'file:///tmp/r' }] }),
        'outputs[0].path: /.poiesis/out is inside /.poiesis',
      ],
      ['volume /', minimalTask({ volumes: ['/'] }), 'volumes[0]: mounting / would hide'],
      [
        'volume under /sys',
        minimalTask({ volumes: ['/sys/fs'] }),
        'volumes[0]: /sys/fs is inside /sys',
      ],
      [
        'input path twice',
        minimalTask({
          inputs: [
            { path: '/d/x', content: 'a' },
            { path: '/d/x/', content: 'b' },
          ],
        }),
        'inputs[1].path: "/d/x" is also the path of inputs[0]',
      ],
      [
        'input inside a file input',
        minimalTask({
          inputs: [
            { path: '/d/x', content: 'a' },
            { path: '/d/x/y', content: 'b' },
          ],
        }),
        'inputs[1].path: "/d/x/y" cannot be inside "/d/x", which inputs[0] makes a file',
      ],
      [
        'file input around an input',
        minimalTask({
          inputs: [
            { path: '/d/x/y', content: 'a' },
            { path: '/d/x', content: 'b' },
          ],
        }),
        'inputs[1].path: "/d/x" cannot be a file, because "/d/x/y" of inputs[0] is inside it',
      ],
      [
        'output url twice',
        minimalTask({
          outputs: [
            { path: '/out/a', url: 'file:///tmp/r' },
            { path: '/out/b', url: 'file:///tmp/r' },
          ],
        }),
        'outputs[1].url: "file:///tmp/r" is also the url of outputs[0]',
      ],
      [
        'http url without a host',
        minimalTask({ inputs: [{ path: '/a', url: 'http://' }] }),
        'inputs[0].url: "http://" has no host',
      ],
      [
        'file url with another host',
        minimalTask({ inputs: [{ path: '/a', url: 'file://otherhost/x' }] }),
        'inputs[0].url: "file://otherhost/x" names the host "otherhost"',
      ],
      [
        'url that does not parse',
        minimalTask({ inputs: [{ path: '/a', url: 'https://exa mple.org/x' }] }),
        'inputs[0].url: "https://exa mple.org/x" cannot be parsed as a URL',
      ],
      [
        'command argument above 128 KiB',
        { executors: [{ image: 'a', command: ['echo', 'a'.repeat(128 * 1024)] }] },
        'executors[0].command[1]: the argument is 131072 bytes, above the limit of 131071 bytes',
      ],
      [
        'env entry above 128 KiB',
        { executors: [{ image: 'a', command: ['x'], env: { A: 'b'.repeat(128 * 1024) } }] },
        'executors[0].env.A: NAME=value is 131074 bytes, above the limit of 131071 bytes',
      ],
      [
        'command and env above 1 MiB',
        {
          executors: [
            {
              image: 'a',
              command: Array.from({ length: 9 }, () => 'a'.repeat(100 * 1024)),
              env: { A: 'b'.repeat(100 * 1024), B: 'c'.repeat(100 * 1024) },
            },
          ],
        },
        'executors[0]: command and env take 1126415 bytes, above the limit of 1048576 bytes',
      ],
    ];
    for (const [name, task, message] of cases) {
      it(name, async () => {
        expect(await rejection(task)).to.include(message);
      });
    }

    it('reports every problem at once', async () => {
      const message = await rejection({
        executors: [{ image: '', command: [] }],
        inputs: [{ path: 'rel' }],
        outputs: [{ path: '/o/*', url: 'file:///tmp/o' }],
      });
      expect(message).to.include('executors[0].image: must not be empty');
      expect(message).to.include('executors[0].command: must not be empty');
      expect(message).to.include('inputs[0].path: must be an absolute path');
      expect(message).to.include('inputs[0]: url or content required');
      expect(message).to.include('outputs[0].path_prefix: required when path has wildcards');
    });

    it('accepts a body nested 64 levels', async () => {
      // The body is level 1, so `unknown` contains the remaining 63; unknown members are dropped.
      const response = await api.request('POST', '/tasks', minimalTask({ unknown: nested(63) }));
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
    });

    it('rejects a body nested 65 levels', async () => {
      expect(await rejection(minimalTask({ unknown: nested(64) }))).to.include(
        'limit of 64 levels',
      );
    });

    it('drops unknown members and keeps string maps', async () => {
      const task = minimalTask({
        extra: nested(30),
        executors: [{ image: 'a', command: ['x'], env: { A: 'b', _C1: 'd' }, more: 1 }],
        inputs: [{ path: '/in/a', content: 'x', checksum: 'md5' }],
        outputs: [{ path: '/out/b', url: 'file:///tmp/b', mode: 'w' }],
        resources: { cpu_cores: 1, gpu: 2, backend_parameters: { network: 'none' } },
        tags: { 'any key': 'v', 'x.y': 'w' },
      });
      const response = await api.request('POST', '/tasks', task);
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      const full = (await api.request('GET', `/tasks/${response.body.id}?view=FULL`)).body;
      expect(full).to.not.have.property('extra');
      expect(full.executors[0]).to.not.have.property('more');
      expect(full.inputs[0]).to.not.have.property('checksum');
      expect(full.outputs[0]).to.not.have.property('mode');
      expect(full.resources).to.not.have.property('gpu');
      expect(full.executors[0].env).to.deep.equal({ A: 'b', _C1: 'd' });
      expect(full.tags).to.deep.equal({ 'any key': 'v', 'x.y': 'w' });
      expect(full.resources.backend_parameters).to.deep.equal({ network: 'none' });
      assertOfficial('tesTask', full);
    });

    it('skips validating server-set fields', async () => {
      const task = minimalTask({
        id: 5,
        state: 'NOT_A_STATE',
        creation_time: 7,
        logs: [{ outputs: 'x' }],
      });
      const response = await api.request('POST', '/tasks', task);
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
    });

    it('accepts the largest sizes', async () => {
      const task = {
        executors: [
          {
            image: 'a',
            command: ['echo', 'a'.repeat(128 * 1024 - 1)],
            env: { A: 'b'.repeat(128 * 1024 - 3) },
          },
        ],
        resources: { ram_gb: 1024 * 1024, disk_gb: 1024 * 1024 },
      };
      const response = await api.request('POST', '/tasks', task);
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
    });

    it('accepts paths and urls that look alike but do not clash', async () => {
      const task = minimalTask({
        inputs: [
          { path: '/d', url: 'file:///tmp/d', type: 'DIRECTORY' },
          { path: '/d/x', content: 'a' },
          { path: '/d/xy', content: 'b' },
        ],
        outputs: [
          { path: '/o/*.txt', path_prefix: '/o/', url: 'file:///tmp/r' },
          { path: '/p/*.csv', path_prefix: '/p/', url: 'file:///tmp/r' },
          { path: '/q', url: 'file://localhost/tmp/q' },
        ],
      });
      const response = await api.request('POST', '/tasks', task);
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
    });

    it('accepts a strict task whose keys are supported in any case', async () => {
      const task = minimalTask({
        resources: { backend_parameters: { NetWork: 'none' }, backend_parameters_strict: true },
      });
      const response = await api.request('POST', '/tasks', task);
      expect(response.status).to.equal(200);
      const stored = await api.store.get(response.body.id);
      expect(stored?.resources?.backend_parameters).to.deep.equal({ network: 'none' });
    });

    it('drops unsupported backend parameters with a system log', async () => {
      const task = minimalTask({
        resources: { backend_parameters: { VmSize: 'x', network: 'none' } },
      });
      const response = await api.request('POST', '/tasks', task);
      expect(response.status).to.equal(200);
      const full = await api.request('GET', `/tasks/${response.body.id}?view=FULL`);
      expect(full.body.resources.backend_parameters).to.deep.equal({ network: 'none' });
      expect(full.body.logs[0].system_logs.join('\n')).to.include('VmSize');
    });
  });

  describe('request body', () => {
    it('malformed JSON is 400', async () => {
      const response = await api.request('POST', '/tasks', '{"executors": [', {
        'content-type': 'application/json',
      });
      expect(response.status).to.equal(400);
      expect(response.body.msg).to.include('not valid JSON');
      assertOfficialError(response.body);
    });

    it('missing body is 400', async () => {
      const response = await api.request('POST', '/tasks');
      expect(response.status).to.equal(400);
      expect(response.body.msg).to.equal(
        'request body is missing; send a tesTask as application/json',
      );
      assertOfficialError(response.body);
    });

    for (const encoding of ['gzip', 'deflate', 'br']) {
      it(`corrupt ${encoding} body is 400`, async () => {
        const response = await api.request('POST', '/tasks', 'not compressed', {
          'content-type': 'application/json',
          'content-encoding': encoding,
        });
        expect(response.status).to.equal(400);
        expect(response.body.msg).to.include(`could not be decompressed as ${encoding}`);
      });
    }

    it('gzip body is read', async () => {
      const response = await api.request(
        'POST',
        '/tasks',
        gzipSync(JSON.stringify(minimalTask())),
        {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
      );
      expect(response.status).to.equal(200);
      expect(response.body.id).to.be.a('string');
    });

    it('__proto__ key is 400', async () => {
      const body = '{"executors":[{"image":"a","command":["x"]}],"tags":{"__proto__":"x"}}';
      const response = await api.request('POST', '/tasks', body);
      expect(response.status).to.equal(400);
      expect(response.body.msg).to.include('keys named __proto__ are not accepted');
    });

    it('charset other than UTF-8 is 415', async () => {
      const response = await api.request('POST', '/tasks', JSON.stringify(minimalTask()), {
        'content-type': 'application/json; charset=latin1',
      });
      expect(response.status).to.equal(415);
      expect(response.body.msg).to.equal('request body must be UTF-8 JSON, got charset latin1');
    });

    it('charset UTF-8 is read', async () => {
      const response = await api.request('POST', '/tasks', JSON.stringify(minimalTask()), {
        'content-type': 'application/json; charset=UTF-8',
      });
      expect(response.status).to.equal(200);
    });

    it('another content type is 415', async () => {
      const response = await api.request('POST', '/tasks', JSON.stringify(minimalTask()), {
        'content-type': 'text/plain',
      });
      expect(response.status).to.equal(415);
      expect(response.body.msg).to.include('application/json');
      expect(response.body.status_code).to.equal(415);
    });

    it('a body above the limit is 413', async () => {
      const small = await startApi({ env: { POIESIS_MAX_BODY_BYTES: String(256 * 1024) } });
      try {
        const content = 'a'.repeat(300 * 1024);
        const response = await small.request(
          'POST',
          '/tasks',
          minimalTask({ inputs: [{ path: '/a', content }] }),
        );
        expect(response.status).to.equal(413);
        expect(response.body.msg).to.include('too large');
      } finally {
        await small.destroy();
      }
    });
  });
});
