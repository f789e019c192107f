import { expect } from 'chai';
import { HTTP } from 'cloudevents';
import { buildEvent, eventRoutes } from '../../functions/lib/events/catalogue.js';
import { readDeliveryFailure } from '../../functions/lib/events/dead-letter.js';
import {
  EmbeddedBroker,
  type EmbeddedBrokerOptions,
} from '../../functions/lib/events/embedded-broker.js';
import { HttpEventPublisher } from '../../functions/lib/events/publisher.js';
import {
  closedPortUrl,
  recordingDelay,
  silentLogger,
  startRecorder,
  type Recorder,
  type Reply,
  waitUntil,
} from './helpers.js';

const TASK_ID = '01HZX3K6W7T8Q9R0S1V2W3X4Y5';

describe('events embedded broker', () => {
  let broker: EmbeddedBroker | undefined;
  const recorders: Recorder[] = [];

  async function subscriber(reply?: (index: number) => Reply): Promise<Recorder> {
    const recorder = await startRecorder(reply && ((_request, index) => reply(index)));
    recorders.push(recorder);
    return recorder;
  }

  async function startBroker(options: EmbeddedBrokerOptions): Promise<HttpEventPublisher> {
    broker = new EmbeddedBroker({ logger: silentLogger, ...options });
    const url = await broker.start();
    return new HttpEventPublisher({ brokerUrl: url, logger: silentLogger });
  }

  function taskCreated(taskId: string) {
    return buildEvent('task.created', taskId, {});
  }

  afterEach(async () => {
    await broker?.close({ drainTimeoutMs: 0 });
    broker = undefined;
    await Promise.all(recorders.splice(0).map((recorder) => recorder.close()));
  });

  it('listens on 127.0.0.1', async () => {
    await startBroker({});

    expect(broker!.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('routes events by type', async () => {
    const torc = await subscriber();
    const tof = await subscriber();
    const publisher = await startBroker({
      subscriptions: [
        { type: 'task.created', url: torc.url },
        { type: 'executors.done', url: tof.url },
      ],
    });

    await publisher.publish(taskCreated(TASK_ID));
    await publisher.publish(buildEvent('executors.done', TASK_ID, {}));
    await broker!.idle();

    expect(torc.requests.map((request) => request.event?.type)).to.deep.equal(['task.created']);
    expect(tof.requests.map((request) => request.event?.type)).to.deep.equal(['executors.done']);
    expect(broker!.stats.received).to.equal(2);
    expect(broker!.stats.delivered).to.equal(2);
  });

  it('delivers one type to every subscriber', async () => {
    const first = await subscriber();
    const second = await subscriber();
    const publisher = await startBroker({
      subscriptions: [
        { type: 'task.created', url: first.url },
        { type: 'task.created', url: second.url },
      ],
    });

    await publisher.publish(taskCreated(TASK_ID));
    await broker!.idle();

    expect(first.requests).to.have.lengthOf(1);
    expect(second.requests).to.have.lengthOf(1);
  });

  it('delivers the event unchanged in binary mode', async () => {
    const texam = await subscriber();
    const publisher = await startBroker({
      subscriptions: [{ type: 'executor.exited', url: texam.url }],
    });
    const event = buildEvent('executor.exited', TASK_ID, { index: 1, exitCode: 2 }, { step: 1 });

    await publisher.publish(event);
    await broker!.idle();

    const request = texam.requests[0]!;
    expect(request.headers['ce-id']).to.equal(event.id);
    expect(request.event?.source).to.equal('/poiesis/runtime');
    expect(request.event?.subject).to.equal(TASK_ID);
    expect(request.event?.time).to.equal(event.time);
    expect(request.event?.data).to.deep.equal({ index: 1, exitCode: 2 });
  });

  it('builds subscriptions from the catalogue', async () => {
    const torc = await subscriber();
    const urls: Record<string, string> = { torc: torc.url, tif: torc.url };
    const subscriptions = eventRoutes()
      .filter((route) => route.consumer in urls)
      .map((route) => ({ type: route.type, url: urls[route.consumer]! }));
    const publisher = await startBroker({ subscriptions });

    await publisher.publish(buildEvent('cancel.requested', TASK_ID, {}));
    await publisher.publish(buildEvent('inputs.staged', TASK_ID, {}, { producer: 'tif' }));
    await broker!.idle();

    expect(torc.requests.map((request) => request.event?.type)).to.deep.equal(['cancel.requested']);
    expect(broker!.stats.unrouted).to.equal(1);
  });

  it('accepts structured mode', async () => {
    const torc = await subscriber();
    await startBroker({ subscriptions: [{ type: 'task.created', url: torc.url }] });
    const message = HTTP.structured(taskCreated(TASK_ID));

    const response = await fetch(broker!.url, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });
    await broker!.idle();

    expect(response.status).to.equal(202);
    expect(torc.requests).to.have.lengthOf(1);
    expect(torc.requests[0]!.event?.type).to.equal('task.created');
  });

  it('rejects a malformed event', async () => {
    await startBroker({});

    const response = await fetch(broker!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });

    expect(response.status).to.equal(400);
    expect(((await response.json()) as { msg: string }).msg).to.match(/^event: /);
    expect(broker!.stats.received).to.equal(0);
  });

  it('does not block the publisher', async () => {
    const stuck = await subscriber(() => ({ status: 202, delayMs: Infinity }));
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: stuck.url }],
    });

    await publisher.publish(taskCreated(TASK_ID));
    await stuck.waitFor(1);

    expect(broker!.pendingDeliveries).to.equal(1);
    expect(broker!.stats.delivered).to.equal(0);
  });

  it('retries with exponential backoff', async () => {
    const flaky = await subscriber((index) => ({ status: [503, 429, 500][index] ?? 202 }));
    const { waits, delay } = recordingDelay();
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: flaky.url }],
      retry: { attempts: 5, backoffDelayMs: 50, backoffFactor: 3 },
      delay,
    });

    await publisher.publish(taskCreated(TASK_ID));
    await broker!.idle();

    expect(flaky.requests).to.have.lengthOf(4);
    expect(waits).to.deep.equal([50, 150, 450]);
    expect(broker!.stats.retries).to.equal(3);
    expect(broker!.stats.delivered).to.equal(1);
    expect(broker!.stats.deadLettered).to.equal(0);
  });

  it('does not retry 400 and dead-letters it', async () => {
    const rejecting = await subscriber(() => ({ status: 400, body: '{"msg":"bad event"}' }));
    const sink = await subscriber();
    const { waits, delay } = recordingDelay();
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: rejecting.url }],
      deadLetterSink: sink.url,
      delay,
    });
    const event = taskCreated(TASK_ID);

    await publisher.publish(event);
    await broker!.idle();

    expect(rejecting.requests).to.have.lengthOf(1);
    expect(waits).to.be.empty;
    expect(sink.requests).to.have.lengthOf(1);
    const dead = sink.requests[0]!;
    expect(dead.headers['ce-knativeerrordest']).to.equal(rejecting.url);
    expect(dead.headers['ce-knativeerrorcode']).to.equal('400');
    expect(dead.headers['ce-knativeerrordata']).to.equal(
      Buffer.from('{"msg":"bad event"}').toString('base64'),
    );
    expect(dead.event?.id).to.equal(event.id);
    expect(dead.event?.type).to.equal('task.created');
    expect(broker!.stats.deadLettered).to.equal(1);
    expect(broker!.stats.retries).to.equal(0);
  });

  it('dead-letters after the last retry', async () => {
    const failing = await subscriber(() => ({ status: 500, body: 'database is locked' }));
    const sink = await subscriber();
    const { delay } = recordingDelay();
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: failing.url }],
      deadLetterSink: sink.url,
      retry: { attempts: 3 },
      delay,
    });

    await publisher.publish(taskCreated(TASK_ID));
    await broker!.idle();

    expect(failing.requests).to.have.lengthOf(3);
    const failure = readDeliveryFailure(sink.requests[0]!.event!);
    expect(failure?.destination).to.equal(failing.url);
    expect(failure?.status).to.equal(500);
    expect(failure?.data?.toString()).to.equal('database is locked');
    expect(broker!.stats.retries).to.equal(2);
    expect(broker!.stats.deadLettered).to.equal(1);
  });

  it('dead-letters a network failure', async () => {
    const unreachable = await closedPortUrl();
    const sink = await subscriber();
    const { delay } = recordingDelay();
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: unreachable }],
      deadLetterSink: sink.url,
      retry: { attempts: 2 },
      delay,
    });

    await publisher.publish(taskCreated(TASK_ID));
    await broker!.idle();

    const failure = readDeliveryFailure(sink.requests[0]!.event!);
    expect(failure?.destination).to.equal(unreachable);
    expect(failure?.status).to.equal(undefined);
    expect(failure?.data?.toString()).to.match(/fetch failed/);
  });

  it('drops a failure without sink', async () => {
    const failing = await subscriber(() => ({ status: 400 }));
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: failing.url }],
    });

    await publisher.publish(taskCreated(TASK_ID));
    await broker!.idle();

    expect(broker!.stats.dropped).to.equal(1);
    expect(broker!.stats.deadLettered).to.equal(0);
  });

  it('duplicates every delivery at probability 1', async () => {
    const torc = await subscriber();
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: torc.url }],
      faults: { duplicateProbability: 1 },
    });

    await publisher.publish(taskCreated('task-a'));
    await publisher.publish(taskCreated('task-b'));
    await broker!.idle();

    const ids = torc.requests.map((request) => request.event?.id).sort();
    expect(ids).to.deep.equal([
      'task-a.task.created',
      'task-a.task.created',
      'task-b.task.created',
      'task-b.task.created',
    ]);
    expect(broker!.stats.duplicated).to.equal(2);
    expect(broker!.stats.delivered).to.equal(4);
  });

  it('duplicates some deliveries by seed', async () => {
    const torc = await subscriber();
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: torc.url }],
      faults: { duplicateProbability: 0.5, seed: 2024 },
    });
    const taskIds = Array.from({ length: 20 }, (_, i) => `task-${i}`);

    for (const taskId of taskIds) await publisher.publish(taskCreated(taskId));
    await broker!.idle();

    const subjects = torc.requests.map((request) => request.event?.subject);
    expect(new Set(subjects)).to.deep.equal(new Set(taskIds));
    expect(subjects.length).to.be.above(taskIds.length);
    expect(subjects.length).to.equal(taskIds.length + broker!.stats.duplicated);
  });

  it('delays deliveries within the range', async () => {
    const torc = await subscriber();
    const { waits, delay } = recordingDelay();
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: torc.url }],
      faults: { delayMs: { min: 20, max: 40 } },
      delay,
    });
    const taskIds = Array.from({ length: 10 }, (_, i) => `task-${i}`);

    for (const taskId of taskIds) await publisher.publish(taskCreated(taskId));
    await broker!.idle();

    expect(waits).to.have.lengthOf(10);
    for (const wait of waits) expect(wait).to.be.within(20, 40);
    expect(new Set(torc.requests.map((request) => request.event?.subject))).to.deep.equal(
      new Set(taskIds),
    );
  });

  it('reorders deliveries', async () => {
    const torc = await subscriber();
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: torc.url }],
      faults: { reorderWindowMs: 300, seed: 7 },
    });
    const taskIds = Array.from({ length: 12 }, (_, i) => `task-${i}`);

    for (const taskId of taskIds) await publisher.publish(taskCreated(taskId));
    await broker!.idle();

    const subjects = torc.requests.map((request) => request.event?.subject);
    expect(subjects).to.have.members(taskIds);
    expect(subjects).to.not.deep.equal(taskIds);
  });

  it('delivers everything under all faults', async () => {
    const flaky = await subscriber((index) => ({ status: index % 3 === 0 ? 503 : 202 }));
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: flaky.url }],
      retry: { backoffDelayMs: 5 },
      faults: {
        duplicateProbability: 0.3,
        delayMs: { min: 0, max: 30 },
        reorderWindowMs: 20,
        seed: 99,
      },
    });
    const taskIds = Array.from({ length: 15 }, (_, i) => `task-${i}`);

    for (const taskId of taskIds) await publisher.publish(taskCreated(taskId));
    await broker!.idle();

    const accepted = flaky.requests.filter((_request, index) => index % 3 !== 0);
    expect(new Set(accepted.map((request) => request.event?.subject))).to.deep.equal(
      new Set(taskIds),
    );
    expect(broker!.stats.delivered).to.equal(taskIds.length + broker!.stats.duplicated);
    expect(broker!.stats.dropped).to.equal(0);
  });

  it('close cancels pending deliveries', async () => {
    const stuck = await subscriber(() => ({ status: 202, delayMs: Infinity }));
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: stuck.url }],
    });
    await publisher.publish(taskCreated(TASK_ID));
    await stuck.waitFor(1);
    const started = Date.now();

    await broker!.close({ drainTimeoutMs: 50 });

    expect(Date.now() - started).to.be.below(2000);
    expect(broker!.stats.canceled).to.equal(1);
    expect(broker!.pendingDeliveries).to.equal(0);
  });

  it('close cancels a delivery in backoff', async () => {
    const failing = await subscriber(() => ({ status: 503 }));
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: failing.url }],
      retry: { backoffDelayMs: 60_000 },
    });
    await publisher.publish(taskCreated(TASK_ID));
    await waitUntil(() => broker!.stats.retries === 1);

    await broker!.close({ drainTimeoutMs: 0 });

    expect(broker!.stats.canceled).to.equal(1);
    expect(broker!.stats.retries).to.equal(1);
    expect(failing.requests).to.have.lengthOf(1);
  });

  it('close waits for pending deliveries', async () => {
    const slow = await subscriber(() => ({ status: 202, delayMs: 150 }));
    const publisher = await startBroker({
      subscriptions: [{ type: 'task.created', url: slow.url }],
    });
    await publisher.publish(taskCreated(TASK_ID));

    await broker!.close();

    expect(broker!.stats.delivered).to.equal(1);
    expect(broker!.stats.canceled).to.equal(0);
  });

  it('stops accepting events after close', async () => {
    const publisher = await startBroker({});
    await broker!.close();

    let caught: unknown;
    await publisher.publish(taskCreated(TASK_ID)).catch((error: unknown) => (caught = error));

    expect(caught).to.be.instanceOf(Error);
  });
});
