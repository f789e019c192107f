import { expect } from 'chai';
import { buildEvent } from '../../functions/lib/events/catalogue.js';
import {
  readDeliveryFailure,
  withDeliveryFailure,
  KNATIVE_ERROR_DATA_MAX_BYTES,
} from '../../functions/lib/events/dead-letter.js';
import {
  backoffDelayMs,
  deliverWithRetry,
  isRetryableStatus,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
} from '../../functions/lib/events/delivery.js';
import { closedPortUrl, recordingDelay, startRecorder, type Recorder } from './helpers.js';

const TASK_ID = '01HZX3K6W7T8Q9R0S1V2W3X4Y5';
const POLICY: RetryPolicy = { ...DEFAULT_RETRY_POLICY, attempts: 4, backoffDelayMs: 100 };

describe('events delivery', () => {
  let subscriber: Recorder | undefined;

  afterEach(async () => {
    await subscriber?.close();
    subscriber = undefined;
  });

  it('retries the Knative retryable statuses', () => {
    for (const status of [404, 409, 429, 500, 502, 503, 504]) {
      expect(isRetryableStatus(status), String(status)).to.equal(true);
    }
    for (const status of [301, 307, 400, 401, 403, 408, 413, 422]) {
      expect(isRetryableStatus(status), String(status)).to.equal(false);
    }
  });

  it('backs off exponentially up to the bound', () => {
    const policy = { ...POLICY, backoffDelayMs: 200, backoffFactor: 3, maxBackoffDelayMs: 5000 };

    const waits = [1, 2, 3, 4, 5].map((retry) => backoffDelayMs(policy, retry));

    expect(waits).to.deep.equal([200, 600, 1800, 5000, 5000]);
  });

  it('retries until accepted', async () => {
    subscriber = await startRecorder((_request, index) => ({ status: index < 2 ? 503 : 202 }));
    const { waits, delay } = recordingDelay();
    const retries: number[] = [];

    const result = await deliverWithRetry(subscriber.url, buildEvent('task.created', TASK_ID, {}), {
      policy: POLICY,
      delay,
      signal: new AbortController().signal,
      onRetry: (retry) => retries.push(retry),
    });

    expect(result).to.deep.equal({ delivered: true, attempts: 3, status: 202 });
    expect(waits).to.deep.equal([100, 200]);
    expect(retries).to.deep.equal([1, 2]);
    expect(subscriber.requests).to.have.lengthOf(3);
  });

  it('stops after the last attempt', async () => {
    subscriber = await startRecorder(() => ({ status: 500, body: 'down' }));
    const { waits, delay } = recordingDelay();

    const result = await deliverWithRetry(subscriber.url, buildEvent('task.created', TASK_ID, {}), {
      policy: POLICY,
      delay,
      signal: new AbortController().signal,
    });

    expect(result.delivered).to.equal(false);
    expect(result.attempts).to.equal(4);
    expect(waits).to.deep.equal([100, 200, 400]);
    expect(subscriber.requests).to.have.lengthOf(4);
    if (!result.delivered) {
      expect(result.response?.status).to.equal(500);
      expect(result.response?.body.toString()).to.equal('down');
    }
  });

  it('does not retry 400', async () => {
    subscriber = await startRecorder(() => ({ status: 400 }));
    const { waits, delay } = recordingDelay();

    const result = await deliverWithRetry(subscriber.url, buildEvent('task.created', TASK_ID, {}), {
      policy: POLICY,
      delay,
      signal: new AbortController().signal,
    });

    expect(result.delivered).to.equal(false);
    expect(result.attempts).to.equal(1);
    expect(waits).to.be.empty;
  });

  it('retries network errors', async () => {
    const { waits, delay } = recordingDelay();

    const result = await deliverWithRetry(
      await closedPortUrl(),
      buildEvent('task.created', TASK_ID, {}),
      { policy: POLICY, delay, signal: new AbortController().signal },
    );

    expect(result.delivered).to.equal(false);
    expect(result.attempts).to.equal(4);
    expect(waits).to.have.lengthOf(3);
    if (!result.delivered) {
      expect(result.response).to.equal(undefined);
      expect(result.error).to.be.instanceOf(Error);
    }
  });

  it('stops when aborted', async () => {
    subscriber = await startRecorder(() => ({ status: 202, delayMs: Infinity }));
    const abort = new AbortController();
    const { delay } = recordingDelay();

    const delivery = deliverWithRetry(subscriber.url, buildEvent('task.created', TASK_ID, {}), {
      policy: POLICY,
      delay,
      signal: abort.signal,
    });
    await subscriber.waitFor(1);
    abort.abort(new Error('closing'));

    let caught: unknown;
    await delivery.catch((error: unknown) => (caught = error));
    expect(caught).to.be.instanceOf(Error);
    expect((caught as Error).message).to.equal('closing');
  });
});

describe('events dead-letter extensions', () => {
  it('round-trips a failure', () => {
    const event = buildEvent('task.created', TASK_ID, {});

    const failed = withDeliveryFailure(event, {
      destination: 'http://127.0.0.1:9/torc',
      status: 503,
      data: Buffer.from('{"msg":"down"}'),
    });

    expect(failed.knativeerrordest).to.equal('http://127.0.0.1:9/torc');
    expect(failed.knativeerrorcode).to.equal(503);
    expect(failed.knativeerrordata).to.equal(Buffer.from('{"msg":"down"}').toString('base64'));
    expect(failed.id).to.equal(event.id);
    expect(failed.data).to.deep.equal({});
    const failure = readDeliveryFailure(failed);
    expect(failure?.destination).to.equal('http://127.0.0.1:9/torc');
    expect(failure?.status).to.equal(503);
    expect(failure?.data?.toString()).to.equal('{"msg":"down"}');
  });

  it('truncates the response body', () => {
    const event = buildEvent('task.created', TASK_ID, {});

    const failed = withDeliveryFailure(event, {
      destination: 'http://127.0.0.1:9/',
      data: Buffer.alloc(5000, 'a'),
    });

    const data = Buffer.from(failed.knativeerrordata as string, 'base64');
    expect(data.length).to.equal(KNATIVE_ERROR_DATA_MAX_BYTES);
    expect(failed.knativeerrorcode).to.equal(undefined);
  });

  it('reads a status sent as header text', () => {
    const event = { ...buildEvent('task.created', TASK_ID, {}) };

    const failure = readDeliveryFailure({
      ...event,
      knativeerrordest: 'http://127.0.0.1:9/',
      knativeerrorcode: '429',
    });

    expect(failure?.status).to.equal(429);
  });

  it('reads nothing from a normal event', () => {
    expect(readDeliveryFailure(buildEvent('task.created', TASK_ID, {}))).to.equal(undefined);
  });
});
