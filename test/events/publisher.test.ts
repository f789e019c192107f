import { expect } from 'chai';
import { buildEvent } from '../../functions/lib/events/catalogue.js';
import { PublishError } from '../../functions/lib/events/errors.js';
import { HttpEventPublisher } from '../../functions/lib/events/publisher.js';
import { closedPortUrl, silentLogger, startRecorder, type Recorder } from './helpers.js';

const TASK_ID = '01HZX3K6W7T8Q9R0S1V2W3X4Y5';

async function publishError(publisher: HttpEventPublisher): Promise<PublishError> {
  try {
    await publisher.publish(buildEvent('task.created', TASK_ID, {}));
  } catch (error) {
    expect(error).to.be.instanceOf(PublishError);
    return error as PublishError;
  }
  expect.fail('expected publish to fail');
}

describe('events publisher', () => {
  let broker: Recorder | undefined;

  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  it('posts in binary mode', async () => {
    broker = await startRecorder(() => ({ status: 202 }));
    const publisher = new HttpEventPublisher({ brokerUrl: broker.url, logger: silentLogger });
    const event = buildEvent('executor.exited', TASK_ID, { index: 1, exitCode: 3 }, { step: 1 });

    await publisher.publish(event);

    expect(broker.requests).to.have.lengthOf(1);
    const { method, headers, body } = broker.requests[0]!;
    expect(method).to.equal('POST');
    expect(headers['ce-specversion']).to.equal('1.0');
    expect(headers['ce-type']).to.equal('executor.exited');
    expect(headers['ce-source']).to.equal('/poiesis/runtime');
    expect(headers['ce-subject']).to.equal(TASK_ID);
    expect(headers['ce-id']).to.equal(`${TASK_ID}.executor.exited.1`);
    expect(headers['content-type']).to.match(/^application\/json/);
    expect(JSON.parse(body)).to.deep.equal({ index: 1, exitCode: 3 });
  });

  for (const status of [200, 202, 204]) {
    it(`accepts status ${status}`, async () => {
      broker = await startRecorder(() => ({ status }));
      const publisher = new HttpEventPublisher({ brokerUrl: broker.url, logger: silentLogger });

      await publisher.publish(buildEvent('task.created', TASK_ID, {}));

      expect(broker.requests).to.have.lengthOf(1);
    });
  }

  for (const status of [400, 404, 429, 500, 503]) {
    it(`fails on status ${status}`, async () => {
      broker = await startRecorder(() => ({ status, body: `{"msg":"no ${status}"}` }));
      const publisher = new HttpEventPublisher({ brokerUrl: broker.url, logger: silentLogger });

      const error = await publishError(publisher);

      expect(error.responseStatus).to.equal(status);
      expect(error.reason).to.equal('PublishRejected');
      expect(error.message).to.include(`status ${status}`);
      expect(error.message).to.include(`no ${status}`);
    });
  }

  it('fails on a redirect', async () => {
    broker = await startRecorder(() => ({ status: 307 }));
    const publisher = new HttpEventPublisher({ brokerUrl: broker.url, logger: silentLogger });

    const error = await publishError(publisher);

    expect(error.responseStatus).to.equal(307);
  });

  it('fails on a network error', async () => {
    const publisher = new HttpEventPublisher({
      brokerUrl: await closedPortUrl(),
      logger: silentLogger,
    });

    const error = await publishError(publisher);

    expect(error.responseStatus).to.equal(undefined);
    expect(error.reason).to.equal('PublishFailed');
    expect(error.cause).to.be.instanceOf(Error);
  });

  it('times out', async () => {
    broker = await startRecorder(() => ({ status: 202, delayMs: Infinity }));
    const publisher = new HttpEventPublisher({
      brokerUrl: broker.url,
      timeoutMs: 100,
      logger: silentLogger,
    });
    const started = Date.now();

    const error = await publishError(publisher);

    expect(error.reason).to.equal('PublishTimedOut');
    expect(error.message).to.include('timed out after 100 ms');
    expect(Date.now() - started).to.be.below(2000);
  });
});
