import { expect } from 'chai';
import type { TesState } from '../../functions/lib/tes/schemas.js';
import { startApi, minimalTask, type ApiHarness } from '../support/api-harness.js';
import { assertOfficial } from '../support/official-spec.js';

describe('api: CancelTask', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApi();
  });
  after(async () => {
    await api.destroy();
  });

  /** Creates a task and walks it through the given states. */
  async function taskIn(...path: TesState[]): Promise<string> {
    const id = (await api.request('POST', '/tasks', minimalTask())).body.id as string;
    for (const state of path) await api.store.transition(id, { to: state });
    return id;
  }

  async function cancel(id: string) {
    return api.request('POST', `/tasks/${id}:cancel`);
  }

  it('unknown id is 404', async () => {
    const response = await cancel('01jzzzzzzzzzzzzzzzzzzzzzzz');
    expect(response.status).to.equal(404);
    expect(response.body.msg).to.include('not found');
  });

  it('QUEUED goes straight to CANCELED', async () => {
    const id = await taskIn();
    const response = await cancel(id);
    expect(response.status).to.equal(200);
    assertOfficial('tesCancelTaskResponse', response.body);
    const task = await api.store.get(id);
    expect(task?.state).to.equal('CANCELED');
    expect(task?.logs?.[0]?.end_time).to.be.a('string');
  });

  for (const path of [['INITIALIZING'], ['INITIALIZING', 'RUNNING']] as TesState[][]) {
    it(`${path.at(-1)} goes to CANCELING and asks TOrc`, async () => {
      const id = await taskIn(...path);
      const response = await cancel(id);
      expect(response.status).to.equal(200);
      expect((await api.store.get(id))?.state).to.equal('CANCELING');
      expect(api.events.sent).to.deep.include({ kind: 'cancelRequested', taskId: id });
    });
  }

  for (const path of [['INITIALIZING', 'CANCELING'], ['CANCELED']] as TesState[][]) {
    it(`${path.at(-1)} is 200 and changes nothing`, async () => {
      const id = await taskIn(...path);
      const before = await api.store.get(id);
      const sentBefore = api.events.sent.length;
      const response = await cancel(id);
      expect(response.status).to.equal(200);
      expect(await api.store.get(id)).to.deep.equal(before);
      expect(api.events.sent.length).to.equal(sentBefore);
    });
  }

  const finished: TesState[][] = [
    ['INITIALIZING', 'RUNNING', 'COMPLETE'],
    ['INITIALIZING', 'RUNNING', 'EXECUTOR_ERROR'],
    ['SYSTEM_ERROR'],
  ];
  for (const path of finished) {
    it(`${path.at(-1)} is 409`, async () => {
      const id = await taskIn(...path);
      const response = await cancel(id);
      expect(response.status).to.equal(409);
      expect(response.body).to.deep.equal({
        msg: `task ${id} is already ${path.at(-1)} and can no longer be canceled`,
        status_code: 409,
      });
      expect((await api.store.get(id))?.state).to.equal(path.at(-1));
    });
  }

  for (const colon of ['%3A', '%3a']) {
    it(`colon encoded as ${colon} is understood`, async () => {
      const id = await taskIn();
      const response = await api.request('POST', `/tasks/${id}${colon}cancel`);
      expect(response.status).to.equal(200);
      expect((await api.store.get(id))?.state).to.equal('CANCELED');
    });
  }

  it('twice in a row keeps one outcome', async () => {
    const id = await taskIn('INITIALIZING', 'RUNNING');
    const [first, second] = await Promise.all([cancel(id), cancel(id)]);
    expect(first.status).to.equal(200);
    expect(second.status).to.equal(200);
    expect((await api.store.get(id))?.state).to.equal('CANCELING');
  });
});
