import { expect } from 'chai';
import { startApi, minimalTask, type ApiHarness } from '../support/api-harness.js';
import { assertOfficial } from '../support/official-spec.js';

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
