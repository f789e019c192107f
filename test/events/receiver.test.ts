import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { CloudEvent, HTTP, type CloudEventV1 } from 'cloudevents';
import Koa from 'koa';
import { pino } from 'pino';
import {
  buildEvent,
  type AnyPoiesisEvent,
  type PoiesisEvent,
} from '../../functions/lib/events/catalogue.js';
import { OverloadedEventError, PermanentEventError } from '../../functions/lib/events/errors.js';
import { eventReceiver, type EventReceiverOptions } from '../../functions/lib/events/receiver.js';
import { serveKoa, silentLogger } from './helpers.js';

const TASK_ID = '01HZX3K6W7T8Q9R0S1V2W3X4Y5';

interface Sent {
  status: number;
  headers: Headers;
  body: string;
}

async function send(url: string, init: RequestInit): Promise<Sent> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

function sendBinary(url: string, event: CloudEventV1<unknown>): Promise<Sent> {
  const message = HTTP.binary(event);
  return send(url, {
    method: 'POST',
    headers: message.headers as Record<string, string>,
    body: message.body as string,
  });
}

function sendStructured(url: string, event: CloudEventV1<unknown>): Promise<Sent> {
  const message = HTTP.structured(event);
  return send(url, {
    method: 'POST',
    headers: message.headers as Record<string, string>,
    body: message.body as string,
  });
}

/** Binary-mode headers of an event, for requests the SDK would not build. */
function binaryHeaders(type: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': `${TASK_ID}.${type}`,
    'ce-source': '/poiesis/test',
    'ce-type': type,
    'ce-subject': TASK_ID,
    ...extra,
  };
}

function messageOf(sent: Sent): string {
  const body = JSON.parse(sent.body) as { msg: string; status_code: number };
  expect(body.status_code).to.equal(sent.status);
  return body.msg;
}

describe('events receiver', () => {
  let server: { url: string; close: () => Promise<void> } | undefined;
  let received: AnyPoiesisEvent[];

  async function start(options: Partial<EventReceiverOptions> = {}): Promise<string> {
    const app = new Koa();
    app.use(
      eventReceiver({
        handlers: {
          'task.created': (event) => {
            received.push(event);
          },
          'executor.exited': (event: PoiesisEvent<'executor.exited'>) => {
            received.push(event);
          },
        },
        logger: silentLogger,
        ...options,
      }),
    );
    server = await serveKoa(app);
    return server.url;
  }

  beforeEach(() => {
    received = [];
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('accepts binary mode', async () => {
    const url = await start();
    const event = buildEvent('executor.exited', TASK_ID, { index: 2, exitCode: 1 }, { step: 2 });

    const sent = await sendBinary(url, event);

    expect(sent.status).to.equal(202);
    expect(sent.body).to.equal('');
    expect(received).to.have.lengthOf(1);
    expect(received[0]!.type).to.equal('executor.exited');
    expect(received[0]!.id).to.equal(event.id);
    expect(received[0]!.subject).to.equal(TASK_ID);
    expect(received[0]!.data).to.deep.equal({ index: 2, exitCode: 1 });
  });

  it('accepts structured mode', async () => {
    const url = await start();
    const event = buildEvent('executor.exited', TASK_ID, { index: 0, exitCode: 0 }, { step: 0 });

    const sent = await sendStructured(url, event);

    expect(sent.status).to.equal(202);
    expect(received).to.have.lengthOf(1);
    expect(received[0]!.id).to.equal(event.id);
    expect(received[0]!.data).to.deep.equal({ index: 0, exitCode: 0 });
  });

  it('accepts a content type with parameters', async () => {
    const url = await start();

    const sent = await send(url, {
      method: 'POST',
      headers: binaryHeaders('task.created', { 'content-type': 'Application/JSON;charset=UTF-8' }),
      body: '{}',
    });

    expect(sent.status).to.equal(202);
    expect(received).to.have.lengthOf(1);
  });

  it('accepts binary mode without a body', async () => {
    const url = await start();

    const sent = await send(url, { method: 'POST', headers: binaryHeaders('task.created') });

    expect(sent.status).to.equal(202);
    expect(received[0]!.data).to.deep.equal({});
  });

  it('calls the handler for every duplicate', async () => {
    const url = await start();
    const event = buildEvent('task.created', TASK_ID, {});

    expect((await sendBinary(url, event)).status).to.equal(202);
    expect((await sendBinary(url, event)).status).to.equal(202);

    expect(received.map((event) => event.id)).to.deep.equal([event.id, event.id]);
  });

  it('rejects a request that is no event', async () => {
    const url = await start();

    const sent = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });

    expect(sent.status).to.equal(400);
    expect(messageOf(sent)).to.match(/^event: /);
    expect(received).to.be.empty;
  });

  it('rejects malformed JSON', async () => {
    const url = await start();

    const sent = await send(url, {
      method: 'POST',
      headers: binaryHeaders('task.created'),
      body: '{"index": ',
    });

    expect(sent.status).to.equal(400);
    expect(received).to.be.empty;
  });

  it('rejects a structured event without source', async () => {
    const url = await start();
    const body = JSON.stringify({ specversion: '1.0', id: 'x', type: 'task.created' });

    const sent = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body,
    });

    expect(sent.status).to.equal(400);
    expect(messageOf(sent)).to.include('source');
    expect(received).to.be.empty;
  });

  it('rejects specversion 0.3', async () => {
    const url = await start();

    const sent = await send(url, {
      method: 'POST',
      headers: binaryHeaders('task.created', { 'ce-specversion': '0.3' }),
      body: '{}',
    });

    expect(sent.status).to.equal(400);
    expect(messageOf(sent)).to.match(/^specversion: "0.3" is not supported/);
  });

  it('rejects batched mode', async () => {
    const url = await start();
    const event = buildEvent('task.created', TASK_ID, {});

    const sent = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([event]),
    });

    expect(sent.status).to.equal(400);
    expect(messageOf(sent)).to.include('batched mode is not supported');
    expect(received).to.be.empty;
  });

  it('rejects an unknown type', async () => {
    const url = await start();

    const sent = await send(url, {
      method: 'POST',
      headers: binaryHeaders('task.exploded'),
      body: '{}',
    });

    expect(sent.status).to.equal(400);
    expect(messageOf(sent)).to.match(/^type: unknown event type "task.exploded"/);
    expect(received).to.be.empty;
  });

  it('rejects invalid data', async () => {
    const url = await start();
    const event = new CloudEvent({
      specversion: '1.0',
      type: 'executor.exited',
      source: '/poiesis/runtime',
      id: `${TASK_ID}.executor.exited.0`,
      subject: TASK_ID,
      data: { index: -1, exitCode: 0 },
    });

    const sent = await sendStructured(url, event);

    expect(sent.status).to.equal(400);
    expect(messageOf(sent)).to.match(/^data\.index: /);
    expect(received).to.be.empty;
  });

  it('rejects a type without handler', async () => {
    const url = await start();

    const sent = await sendBinary(url, buildEvent('outputs.filed', TASK_ID, { outputs: [] }));

    expect(sent.status).to.equal(400);
    expect(messageOf(sent)).to.include('no handler for outputs.filed');
  });

  it('passes types without handler to the fallback', async () => {
    const fallback: AnyPoiesisEvent[] = [];
    const url = await start({ fallback: (event) => void fallback.push(event) });

    const outputs = [{ url: 'file:///out/a', path: '/data/a', size_bytes: '5' }];
    const sent = await sendBinary(url, buildEvent('outputs.filed', TASK_ID, { outputs }));
    await sendBinary(url, buildEvent('task.created', TASK_ID, {}));

    expect(sent.status).to.equal(202);
    expect(fallback.map((event) => event.type)).to.deep.equal(['outputs.filed']);
    expect(fallback[0]!.data).to.deep.equal({ outputs });
    expect(received.map((event) => event.type)).to.deep.equal(['task.created']);
  });

  it('returns 400 for a permanent error', async () => {
    const url = await start({
      handlers: {
        'task.created': () => {
          throw new PermanentEventError(`task ${TASK_ID} not found`, { reason: 'TaskNotFound' });
        },
      },
    });

    const sent = await sendBinary(url, buildEvent('task.created', TASK_ID, {}));

    expect(sent.status).to.equal(400);
    expect(messageOf(sent)).to.equal(`task ${TASK_ID} not found`);
  });

  it('returns 429 for an overloaded handler', async () => {
    const url = await start({
      handlers: {
        'task.created': () => {
          throw new OverloadedEventError('too many tasks are starting; try later', 2.5);
        },
      },
    });

    const sent = await sendBinary(url, buildEvent('task.created', TASK_ID, {}));

    expect(sent.status).to.equal(429);
    expect(sent.headers.get('retry-after')).to.equal('3');
    expect(messageOf(sent)).to.equal('too many tasks are starting; try later');
  });

  it('returns 500 for other handler errors', async () => {
    const url = await start({
      handlers: {
        'task.created': async () => {
          await Promise.resolve();
          throw new Error('database is locked');
        },
      },
    });

    const sent = await sendBinary(url, buildEvent('task.created', TASK_ID, {}));

    expect(sent.status).to.equal(500);
    expect(messageOf(sent)).to.include('database is locked');
  });

  it('returns 413 for a large body', async () => {
    const url = await start({ maxBodyBytes: 64 });

    const sent = await send(url, {
      method: 'POST',
      headers: binaryHeaders('task.created'),
      body: JSON.stringify({ padding: 'x'.repeat(200) }),
    });

    expect(sent.status).to.equal(413);
    expect(messageOf(sent)).to.include('larger than 64 bytes');
    expect(received).to.be.empty;
  });

  it('returns 413 for a large chunked body', async () => {
    const url = await start({ maxBodyBytes: 64 });

    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(url, { method: 'POST', headers: binaryHeaders('task.created') });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      for (let i = 0; i < 10; i++) request.write(`{"padding": "${'x'.repeat(20)}"}`);
      request.end();
    });

    expect(status).to.equal(413);
    expect(received).to.be.empty;
  });

  it('returns 405 for GET', async () => {
    const url = await start();

    const sent = await send(url, { method: 'GET' });

    expect(sent.status).to.equal(405);
    expect(sent.headers.get('allow')).to.equal('POST, OPTIONS');
  });

  it('returns Allow for OPTIONS', async () => {
    const url = await start();

    const sent = await send(url, { method: 'OPTIONS' });

    expect(sent.status).to.equal(204);
    expect(sent.headers.get('allow')).to.equal('POST, OPTIONS');
  });

  it('logs each event at debug', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        callback();
      },
    });
    const url = await start({ logger: pino({ level: 'debug' }, destination) });
    const event = buildEvent('task.created', TASK_ID, {});

    await sendBinary(url, event);

    const line = lines.find((entry) => entry.msg === 'received event');
    expect(line, JSON.stringify(lines)).to.not.equal(undefined);
    expect(line!.level).to.equal(20);
    expect(line!['event.type']).to.equal('task.created');
    expect(line!['event.id']).to.equal(event.id);
    expect(line!.taskId).to.equal(TASK_ID);
  });
});
