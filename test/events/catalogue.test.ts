import { expect } from 'chai';
import { CloudEvent } from 'cloudevents';
import {
  buildEvent,
  buildReconcileEvent,
  CATALOGUE,
  consumersOf,
  EVENT_TYPES,
  eventId,
  eventRoutes,
  validateEvent,
  type EventData,
  type EventType,
} from '../../functions/lib/events/catalogue.js';
import { InvalidEventError } from '../../functions/lib/events/errors.js';

const TASK_ID = '01HZX3K6W7T8Q9R0S1V2W3X4Y5';

/** Valid data of every type, with the producer to publish it as. */
const SAMPLES: { [T in EventType]: { data: EventData<T>; producer: string } } = {
  'task.created': { data: {}, producer: 'api' },
  'task.initialized': { data: {}, producer: 'torc' },
  'inputs.staged': { data: {}, producer: 'tif' },
  'executor.exited': {
    data: {
      index: 0,
      exitCode: 137,
      startTime: '2024-05-01T10:00:00Z',
      endTime: '2024-05-01T10:00:05.250Z',
      reason: 'OOMKilled',
    },
    producer: 'runtime',
  },
  'executors.done': { data: {}, producer: 'texam' },
  'outputs.filed': {
    data: { outputs: [{ url: 's3://bucket/out.txt', path: '/data/out.txt', size_bytes: '12' }] },
    producer: 'tof',
  },
  'task.failed': {
    data: {
      state: 'SYSTEM_ERROR',
      reason: 'ImagePullFailed',
      message: 'image ubuntu:nope not found',
    },
    producer: 'texam',
  },
  'cancel.requested': { data: {}, producer: 'api' },
  'reconcile.requested': { data: {}, producer: 'timer' },
};

/** Invalid data of the types that carry data, with the start of the expected problem. */
const BAD_DATA: Array<{ type: EventType; case: string; data: unknown; path: string }> = [
  {
    type: 'executor.exited',
    case: 'missing index',
    data: { exitCode: 1 },
    path: 'data: must have required properties index',
  },
  {
    type: 'executor.exited',
    case: 'negative index',
    data: { index: -1, exitCode: 1 },
    path: 'data.index',
  },
  {
    type: 'executor.exited',
    case: 'fractional index',
    data: { index: 0.5, exitCode: 1 },
    path: 'data.index',
  },
  {
    type: 'executor.exited',
    case: 'exitCode as text',
    data: { index: 0, exitCode: '1' },
    path: 'data.exitCode',
  },
  {
    type: 'executor.exited',
    case: 'endTime not RFC 3339',
    data: { index: 0, exitCode: 0, endTime: 'yesterday' },
    path: 'data.endTime',
  },
  {
    type: 'executor.exited',
    case: 'reason as number',
    data: { index: 0, exitCode: 0, reason: 7 },
    path: 'data.reason',
  },
  {
    type: 'outputs.filed',
    case: 'missing outputs',
    data: {},
    path: 'data: must have required properties outputs',
  },
  {
    type: 'outputs.filed',
    case: 'output without size',
    data: { outputs: [{ url: 'u', path: '/p' }] },
    path: 'data.outputs[0]: must have required properties size_bytes',
  },
  {
    type: 'outputs.filed',
    case: 'size as number',
    data: { outputs: [{ url: 'u', path: '/p', size_bytes: 3 }] },
    path: 'data.outputs[0].size_bytes',
  },
  {
    type: 'task.failed',
    case: 'state COMPLETE',
    data: { state: 'COMPLETE', reason: 'Done', message: '' },
    path: 'data.state',
  },
  {
    type: 'task.failed',
    case: 'reason not PascalCase',
    data: { state: 'SYSTEM_ERROR', reason: 'image pull failed', message: 'x' },
    path: 'data.reason',
  },
  {
    type: 'task.failed',
    case: 'missing message',
    data: { state: 'EXECUTOR_ERROR', reason: 'NonZeroExit' },
    path: 'data: must have required properties message',
  },
];

function problemsOf(action: () => unknown): readonly string[] {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidEventError);
    return (error as InvalidEventError).problems;
  }
  expect.fail('expected an InvalidEventError');
}

/** Builds an incoming event as the SDK would convert it, without catalogue checks. */
function incoming(attributes: Record<string, unknown>): CloudEvent<unknown> {
  return new CloudEvent<unknown>(
    { specversion: '1.0', source: '/poiesis/test', id: 'e1', subject: TASK_ID, ...attributes },
    false,
  );
}

describe('events catalogue', () => {
  it('lists exactly the agreed types', () => {
    expect(EVENT_TYPES).to.have.members([
      'task.created',
      'task.initialized',
      'inputs.staged',
      'executor.exited',
      'executors.done',
      'outputs.filed',
      'task.failed',
      'cancel.requested',
      'reconcile.requested',
    ]);
    expect(EVENT_TYPES).to.have.lengthOf(9);
  });

  it('gives every type a consumer and a meaning', () => {
    for (const type of EVENT_TYPES) {
      expect(CATALOGUE[type].consumers, type).to.not.be.empty;
      expect(CATALOGUE[type].meaning, type).to.not.be.empty;
    }
  });

  it('lists consumers per type', () => {
    expect(consumersOf('task.created')).to.deep.equal(['torc']);
    expect(consumersOf('task.initialized')).to.deep.equal(['tif']);
    expect(consumersOf('inputs.staged')).to.deep.equal(['texam']);
    expect(consumersOf('executor.exited')).to.deep.equal(['texam']);
    expect(consumersOf('executors.done')).to.deep.equal(['tof']);
    expect(consumersOf('outputs.filed')).to.deep.equal(['torc']);
    expect(consumersOf('task.failed')).to.deep.equal(['torc']);
    expect(consumersOf('cancel.requested')).to.deep.equal(['torc']);
    expect(consumersOf('reconcile.requested')).to.deep.equal(['torc']);
  });

  it('lists one route per type and consumer', () => {
    const routes = eventRoutes();
    expect(routes).to.have.lengthOf(EVENT_TYPES.length);
    expect(routes).to.deep.include({ type: 'executors.done', consumer: 'tof' });
    expect(routes.map((route) => route.type)).to.have.members(EVENT_TYPES);
  });

  for (const type of EVENT_TYPES) {
    it(`builds and validates ${type}`, () => {
      const { data, producer } = SAMPLES[type];
      const event = buildEvent(type, TASK_ID, data as never, {
        producer: producer as never,
        step: 2,
      });

      expect(event.type).to.equal(type);
      expect(event.specversion).to.equal('1.0');
      expect(event.source).to.equal(`/poiesis/${producer}`);
      expect(event.subject).to.equal(TASK_ID);
      expect(event.id).to.equal(`${TASK_ID}.${type}.2`);
      expect(event.data).to.deep.equal(data);
      expect(validateEvent(event).type).to.equal(type);
    });
  }

  it('makes ids deterministic per task and step', () => {
    const first = buildEvent('executor.exited', TASK_ID, { index: 1, exitCode: 0 }, { step: 1 });
    const again = buildEvent('executor.exited', TASK_ID, { index: 1, exitCode: 0 }, { step: 1 });
    const next = buildEvent('executor.exited', TASK_ID, { index: 2, exitCode: 0 }, { step: 2 });

    expect(again.id).to.equal(first.id);
    expect(next.id).to.not.equal(first.id);
    expect(eventId(TASK_ID, 'task.created')).to.equal(`${TASK_ID}.task.created`);
  });

  it('defaults the source to the only producer', () => {
    expect(buildEvent('task.created', TASK_ID, {}).source).to.equal('/poiesis/api');
  });

  it('requires a producer for task.failed', () => {
    const data = SAMPLES['task.failed'].data;
    const problems = problemsOf(() => buildEvent('task.failed', TASK_ID, data));
    expect(problems[0]).to.match(/^producer: required for task.failed/);
  });

  it('rejects a producer not allowed for the type', () => {
    const problems = problemsOf(() => buildEvent('task.created', TASK_ID, {}, { producer: 'tof' }));
    expect(problems[0]).to.match(/^producer: tof may not publish task.created/);
  });

  it('rejects building with bad data', () => {
    const data = { index: -1, exitCode: 0 } as EventData<'executor.exited'>;
    const problems = problemsOf(() => buildEvent('executor.exited', TASK_ID, data));
    expect(problems.some((problem) => problem.startsWith('data.index'))).to.equal(true);
  });

  it('rejects building without a task id', () => {
    const problems = problemsOf(() => buildEvent('task.created', '', {}));
    expect(problems).to.deep.equal(['subject: required, the task id']);
  });

  it('builds a reconcile event per tick', () => {
    const tick = new Date('2024-05-01T10:00:00.000Z');
    const event = buildReconcileEvent(tick);

    expect(event.subject).to.equal('all');
    expect(event.id).to.equal('all.reconcile.requested.2024-05-01T10:00:00.000Z');
    expect(event.source).to.equal('/poiesis/timer');
    expect(event.time).to.equal(tick.toISOString());
    expect(buildReconcileEvent(new Date(tick.getTime() + 60_000)).id).to.not.equal(event.id);
  });

  it('rejects an unknown type', () => {
    const problems = problemsOf(() => validateEvent(incoming({ type: 'task.exploded', data: {} })));
    expect(problems).to.have.lengthOf(1);
    expect(problems[0]).to.match(/^type: unknown event type "task.exploded"/);
  });

  for (const { type, case: name, data, path } of BAD_DATA) {
    it(`rejects ${type} with ${name}`, () => {
      const problems = problemsOf(() => validateEvent(incoming({ type, data })));
      expect(
        problems.some((problem) => problem.startsWith(path)),
        problems.join('; '),
      ).to.equal(true);
    });
  }

  it('rejects data that is not an object', () => {
    const problems = problemsOf(() =>
      validateEvent(incoming({ type: 'task.created', data: 'hi' })),
    );
    expect(problems).to.deep.equal(['data: must be a JSON object']);
  });

  it('rejects data that is an array', () => {
    const problems = problemsOf(() => validateEvent(incoming({ type: 'task.created', data: [] })));
    expect(problems).to.deep.equal(['data: must be a JSON object']);
  });

  it('rejects an event without subject', () => {
    const event = incoming({ type: 'task.created', data: {}, subject: undefined });
    expect(problemsOf(() => validateEvent(event))).to.deep.equal([
      'subject: required, the task id',
    ]);
  });

  it('lists every problem at once', () => {
    const event = incoming({ type: 'executor.exited', data: { index: -1 }, subject: '' });
    const problems = problemsOf(() => validateEvent(event));
    expect(problems).to.include('subject: required, the task id');
    expect(problems.some((problem) => problem.startsWith('data.index'))).to.equal(true);
    expect(problems.some((problem) => problem.includes('exitCode'))).to.equal(true);
  });

  it('treats absent data as empty', () => {
    const event = validateEvent(incoming({ type: 'cancel.requested' }));
    expect(event.data).to.deep.equal({});
  });

  it('rejects absent data where fields are required', () => {
    const problems = problemsOf(() => validateEvent(incoming({ type: 'executor.exited' })));
    expect(problems.some((problem) => problem.includes('index'))).to.equal(true);
  });
});
