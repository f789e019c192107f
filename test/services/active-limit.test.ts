import { expect } from 'chai';
import { Orchestrator } from '../../functions/torc/orchestrator.js';
import { ServiceHarness } from './harness.js';

describe('services: limit of active tasks', () => {
  let services: ServiceHarness;
  let orchestrator: Orchestrator;

  beforeEach(async () => {
    services = await ServiceHarness.start();
    orchestrator = new Orchestrator({
      ...services.flow,
      runtime: services.runtime,
      filers: services.filers,
      maxActiveTasks: 2,
    });
  });
  afterEach(async () => {
    await orchestrator.drain();
    await services.close();
  });

  it('keeps tasks over the limit QUEUED', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await services.addTask()).id);

    for (const id of ids) await orchestrator.startTask(id);

    expect((await services.task(ids[0]!)).state).to.equal('INITIALIZING');
    expect((await services.task(ids[1]!)).state).to.equal('INITIALIZING');
    expect((await services.task(ids[2]!)).state).to.equal('QUEUED');
    expect(services.publisher.typesFor(ids[2]!)).to.deep.equal([]);
  });

  it('starts the oldest queued task when one ends', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await services.addTask()).id);
    for (const id of ids) await orchestrator.startTask(id);
    await services.store.transition(ids[0]!, { to: 'RUNNING' });

    await orchestrator.completeTask(ids[0]!, []);
    await orchestrator.drain();

    expect((await services.task(ids[0]!)).state).to.equal('COMPLETE');
    expect((await services.task(ids[2]!)).state).to.equal('INITIALIZING');
    expect((await services.task(ids[3]!)).state).to.equal('QUEUED');
  });

  it('CANCELING tasks count until CANCELED', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await services.addTask()).id);
    for (const id of ids) await orchestrator.startTask(id);
    await services.store.transition(ids[0]!, { to: 'CANCELING' });

    await orchestrator.startTask(ids[2]!);
    expect((await services.task(ids[2]!)).state).to.equal('QUEUED');

    await orchestrator.cancelTask(ids[0]!);
    const deadline = Date.now() + 5000;
    while ((await services.task(ids[2]!)).state === 'QUEUED' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await services.task(ids[0]!)).state).to.equal('CANCELED');
    expect((await services.task(ids[2]!)).state).to.equal('INITIALIZING');
  });
});
