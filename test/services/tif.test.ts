import { expect } from 'chai';
import { buildEvent } from '../../functions/lib/events/catalogue.js';
import type { TesState } from '../../functions/lib/tes/schemas.js';
import { createTifApp } from '../../functions/tif/app.js';
import { serve, ServiceHarness, type ServedApp } from './harness.js';

describe('services: tif', () => {
  let services: ServiceHarness;
  let tif: ServedApp;

  beforeEach(async () => {
    services = await ServiceHarness.start();
    tif = await serve(createTifApp({ ...services.flow, filers: services.filers }));
  });

  afterEach(async () => {
    await tif.close();
    await services.close();
  });

  it('no inputs sends inputs.staged at once', async () => {
    const { id } = await services.addTask({ state: 'INITIALIZING' });

    const response = await tif.deliver(buildEvent('task.initialized', id, {}));

    expect(response.status).to.equal(202);
    const staged = services.publisher.ofType('inputs.staged', id);
    expect(staged.map((event) => event.source)).to.deep.equal(['/poiesis/tif']);
    expect(staged[0]?.id).to.equal(`${id}.inputs.staged`);
    expect(services.filers.started).to.deep.equal([]);
  });

  it('inputs start the input filer', async () => {
    const { id } = await services.addTask({
      state: 'INITIALIZING',
      inputs: [{ path: '/data/in.txt', content: 'hello\n' }],
    });

    const response = await tif.deliver(buildEvent('task.initialized', id, {}));

    expect(response.status).to.equal(202);
    expect(services.filers.started).to.deep.equal([{ kind: 'inputs', taskId: id }]);
    expect(services.publisher.events).to.deep.equal([]);
  });

  for (const state of ['QUEUED', 'RUNNING', 'CANCELING', 'CANCELED'] as TesState[]) {
    it(`${state} task is left alone`, async () => {
      const { id } = await services.addTask({
        state,
        inputs: [{ path: '/data/in.txt', content: 'hello\n' }],
      });

      const response = await tif.deliver(buildEvent('task.initialized', id, {}));

      expect(response.status).to.equal(202);
      expect(services.filers.started).to.deep.equal([]);
      expect(services.publisher.events).to.deep.equal([]);
    });
  }

  it('unknown task is 400', async () => {
    const response = await tif.deliver(buildEvent('task.initialized', 'missing-task', {}));

    expect(response.status).to.equal(400);
  });
});
