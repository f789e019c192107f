import { expect } from 'chai';
import { buildEvent } from '../../functions/lib/events/catalogue.js';
import type { TesState } from '../../functions/lib/tes/schemas.js';
import { createTofApp } from '../../functions/tof/app.js';
import { serve, ServiceHarness, type ServedApp } from './harness.js';

describe('services: tof', () => {
  let services: ServiceHarness;
  let tof: ServedApp;

  beforeEach(async () => {
    services = await ServiceHarness.start();
    tof = await serve(createTofApp({ ...services.flow, filers: services.filers }));
  });

  afterEach(async () => {
    await tof.close();
    await services.close();
  });

  it('no outputs sends outputs.filed at once', async () => {
    const { id } = await services.addTask({ state: 'RUNNING' });

    const response = await tof.deliver(buildEvent('executors.done', id, {}));

    expect(response.status).to.equal(202);
    const filed = services.publisher.ofType('outputs.filed', id);
    expect(filed.map((event) => event.data)).to.deep.equal([{ outputs: [] }]);
    expect(filed[0]?.source).to.equal('/poiesis/tof');
    expect(services.filers.started).to.deep.equal([]);
  });

  it('outputs start the output filer', async () => {
    const { id } = await services.addTask({
      state: 'RUNNING',
      outputs: [{ path: '/data/out.txt', url: 'file:///results/out.txt' }],
    });

    const response = await tof.deliver(buildEvent('executors.done', id, {}));

    expect(response.status).to.equal(202);
    expect(services.filers.started).to.deep.equal([{ kind: 'outputs', taskId: id }]);
    expect(services.publisher.events).to.deep.equal([]);
  });

  for (const state of ['INITIALIZING', 'CANCELING', 'EXECUTOR_ERROR', 'COMPLETE'] as TesState[]) {
    it(`${state} task is left alone`, async () => {
      const { id } = await services.addTask({ state });

      const response = await tof.deliver(buildEvent('executors.done', id, {}));

      expect(response.status).to.equal(202);
      expect(services.filers.started).to.deep.equal([]);
      expect(services.publisher.events).to.deep.equal([]);
    });
  }

  it('unknown task is 400', async () => {
    const response = await tof.deliver(buildEvent('executors.done', 'missing-task', {}));

    expect(response.status).to.equal(400);
  });
});
