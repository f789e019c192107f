import { expect } from 'chai';
import { startApi, type ApiHarness } from '../support/api-harness.js';
import { assertOfficial } from '../support/official-spec.js';

/** A task with every field a view may drop, and logs as a finished run leaves them. */
const RICH_TASK = {
  name: 'rich',
  description: 'every field',
  inputs: [{ name: 'in', path: '/in/a.txt', content: 'secret content', type: 'FILE' }],
  outputs: [{ name: 'out', path: '/out/b.txt', url: 'file:///tmp/b.txt', type: 'FILE' }],
  resources: { cpu_cores: 2, ram_gb: 1.5, disk_gb: 3, preemptible: false, zones: ['z1'] },
  executors: [
    { image: 'alpine', command: ['echo', 'x'], workdir: '/in', env: { A: 'b' }, stdout: '/out/o' },
  ],
  volumes: ['/vol'],
  tags: { project: 'p1' },
};

describe('api: GetTask and views', () => {
  let api: ApiHarness;
  let id: string;

  before(async () => {
    api = await startApi();
    id = (await api.request('POST', '/tasks', RICH_TASK)).body.id;
    await api.store.transition(id, {
      to: 'INITIALIZING',
      log: { start_time: '2026-01-01T00:00:00Z' },
    });
    await api.store.transition(id, {
      to: 'RUNNING',
      log: {
        executor: {
          index: 0,
          log: { start_time: '2026-01-01T00:00:01Z', stdout: 'x\n', stderr: 'warn\n' },
        },
      },
    });
    await api.store.transition(id, {
      to: 'COMPLETE',
      log: {
        executor: { index: 0, log: { end_time: '2026-01-01T00:00:02Z', exit_code: 0 } },
        outputs: [{ url: 'file:///tmp/b.txt', path: '/out/b.txt', size_bytes: '2' }],
        systemLogs: ['all good'],
        end_time: '2026-01-01T00:00:03Z',
      },
    });
  });
  after(async () => {
    await api.destroy();
  });

  it('defaults to MINIMAL', async () => {
    const response = await api.request('GET', `/tasks/${id}`);
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ id, state: 'COMPLETE' });
    assertOfficial('tesTask', response.body, { minimal: true });
  });

  it('MINIMAL has id and state only', async () => {
    const { body } = await api.request('GET', `/tasks/${id}?view=MINIMAL`);
    expect(body).to.have.all.keys('id', 'state');
  });

  it('BASIC drops stdout, stderr, content and system_logs', async () => {
    const { body } = await api.request('GET', `/tasks/${id}?view=BASIC`);
    assertOfficial('tesTask', body);
    expect(body.inputs[0]).to.not.have.property('content');
    expect(body.inputs[0].path).to.equal('/in/a.txt');
    expect(body.logs[0]).to.not.have.property('system_logs');
    expect(body.logs[0].logs[0]).to.not.have.property('stdout');
    expect(body.logs[0].logs[0]).to.not.have.property('stderr');
    expect(body.logs[0].logs[0].exit_code).to.equal(0);
    expect(body.logs[0].outputs).to.deep.equal([
      { url: 'file:///tmp/b.txt', path: '/out/b.txt', size_bytes: '2' },
    ]);
    expect(body.tags).to.deep.equal({ project: 'p1' });
    expect(body.resources.zones).to.deep.equal(['z1']);
    expect(body.executors[0].env).to.deep.equal({ A: 'b' });
    expect(body.creation_time).to.be.a('string');
  });

  it('FULL has everything', async () => {
    const { body } = await api.request('GET', `/tasks/${id}?view=FULL`);
    assertOfficial('tesTask', body);
    expect(body.inputs[0].content).to.equal('secret content');
    expect(body.logs[0].system_logs).to.include('all good');
    expect(body.logs[0].logs[0].stdout).to.equal('x\n');
    expect(body.logs[0].logs[0].stderr).to.equal('warn\n');
    expect(body.logs[0].start_time).to.equal('2026-01-01T00:00:00Z');
    expect(body.logs[0].end_time).to.equal('2026-01-01T00:00:03Z');
    expect(body.logs[0].logs[0].start_time).to.equal('2026-01-01T00:00:01Z');
    expect(body.logs[0].logs[0].end_time).to.equal('2026-01-01T00:00:02Z');
    expect(body.description).to.equal('every field');
    expect(body.volumes).to.deep.equal(['/vol']);
  });

  it('unknown view is 400', async () => {
    const response = await api.request('GET', `/tasks/${id}?view=EVERYTHING`);
    expect(response.status).to.equal(400);
    expect(response.body.msg).to.include('view: must be one of MINIMAL, BASIC, FULL');
  });

  it('unknown id is 404', async () => {
    const response = await api.request('GET', '/tasks/01jzzzzzzzzzzzzzzzzzzzzzzz');
    expect(response.status).to.equal(404);
    expect(response.body).to.deep.equal({
      msg: 'task 01jzzzzzzzzzzzzzzzzzzzzzzz not found',
      status_code: 404,
    });
  });

  it('malformed id is 404', async () => {
    const response = await api.request('GET', '/tasks/not-an-id');
    expect(response.status).to.equal(404);
    expect(response.body.msg).to.include('not-an-id');
  });

  it('unknown endpoint is 404 with a body', async () => {
    const response = await api.request('GET', '/nothing');
    expect(response.status).to.equal(404);
    expect(response.body.status_code).to.equal(404);
  });

  it('wrong method is 405 with a body', async () => {
    const response = await api.request('DELETE', `/tasks/${id}`);
    expect(response.status).to.equal(405);
    expect(response.body.status_code).to.equal(405);
    expect(response.headers.get('allow')).to.include('GET');
  });
});
