/**
 * The one catalogue of Poiesis event types (CloudEvents 1.0).
 *
 * Handlers, the embedded broker's subscriptions and the Knative Triggers are
 * all made or checked from {@link CATALOGUE}. Conventions of every event:
 * `source` is `/poiesis/<producer>`, `subject` is the task id, and `id` is
 * `<taskId>.<type>[.<step>]`, the same on every publish of the same step, so
 * a duplicate delivery carries the id of the first.
 */
import { CloudEvent, type CloudEventV1 } from 'cloudevents';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { TesOutputFileLog } from '../tes/schemas.js';
import { InvalidEventError } from './errors.js';

/** A part of Poiesis that produces or consumes events. */
export type Component = 'api' | 'torc' | 'tif' | 'texam' | 'tof' | 'runtime' | 'timer';

/** Every producer, for `task.failed`, which any part may publish. */
const ANY_PRODUCER: readonly Component[] = ['api', 'torc', 'tif', 'texam', 'tof', 'runtime'];

/** RFC 3339 date-time text. */
const Rfc3339 = Type.String({ format: 'date-time' });

/** No data: the type and subject are the whole message. */
const NoData = Type.Object({});

/** One event type: who produces and consumes it, and the schema of its `data`. */
export interface CatalogueEntry<S extends Type.TSchema = Type.TSchema> {
  /** Components allowed to publish the type. A single one is the default `source`. */
  producers: readonly Component[];
  /** Components a broker delivers the type to. */
  consumers: readonly Component[];
  data: S;
  meaning: string;
}

function entry<S extends Type.TSchema>(value: CatalogueEntry<S>): CatalogueEntry<S> {
  return value;
}

export const CATALOGUE = {
  'task.created': entry({
    producers: ['api'],
    consumers: ['torc'],
    data: NoData,
    meaning: 'the API stored a new task as QUEUED',
  }),
  'task.initialized': entry({
    producers: ['torc'],
    consumers: ['tif'],
    data: NoData,
    meaning: 'the task volume exists and the task is INITIALIZING, so input filing can start',
  }),
  'inputs.staged': entry({
    // TOrc sends it again from the reconcile loop, to make TExAM resume a RUNNING task.
    producers: ['tif', 'torc'],
    consumers: ['texam'],
    data: NoData,
    meaning: 'every input is in the task volume, or the task has none',
  }),
  'executor.exited': entry({
    producers: ['runtime'],
    consumers: ['texam'],
    data: Type.Object({
      index: Type.Integer({ minimum: 0, description: 'Position of the executor in the task.' }),
      exitCode: Type.Integer(),
      startTime: Type.Optional(Rfc3339),
      endTime: Type.Optional(Rfc3339),
      reason: Type.Optional(
        Type.String({ description: 'Why the container stopped, such as OOMKilled.' }),
      ),
    }),
    meaning: 'the container of executor `index` stopped',
  }),
  'executors.done': entry({
    producers: ['texam'],
    consumers: ['tof'],
    data: NoData,
    meaning: 'every executor ran and none stopped the task, so output filing can start',
  }),
  'outputs.filed': entry({
    producers: ['tof'],
    consumers: ['torc'],
    data: Type.Object({
      outputs: Type.Array(TesOutputFileLog),
      omitted: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
    meaning:
      'every output was uploaded, one log entry per file; `omitted` counts the files left out ' +
      'of the list to keep the event under its size limit',
  }),
  'task.failed': entry({
    producers: ANY_PRODUCER,
    consumers: ['torc'],
    data: Type.Object({
      state: Type.Union([Type.Literal('SYSTEM_ERROR'), Type.Literal('EXECUTOR_ERROR')]),
      reason: Type.String({ pattern: '^[A-Z][A-Za-z0-9]*$', description: 'PascalCase.' }),
      message: Type.String(),
    }),
    meaning: 'a step failed and the task must end in `state`',
  }),
  'cancel.requested': entry({
    producers: ['api'],
    consumers: ['torc'],
    data: NoData,
    meaning: 'a client asked to cancel the task, which is now CANCELING',
  }),
  'reconcile.requested': entry({
    producers: ['timer'],
    consumers: ['torc'],
    data: NoData,
    meaning: 'check every non-terminal task against the runtime (subject `all`)',
  }),
};

export type EventType = keyof typeof CATALOGUE;

/** Every event type, in catalogue order. */
export const EVENT_TYPES = Object.keys(CATALOGUE) as EventType[];

/** The `data` of an event of type `T`. */
export type EventData<T extends EventType> = Type.Static<(typeof CATALOGUE)[T]['data']>;

/** A CloudEvent of the catalogue, with typed `data` and a `subject`. */
export type PoiesisEvent<T extends EventType = EventType> = CloudEventV1<EventData<T>> & {
  type: T;
  subject: string;
  data: EventData<T>;
};

/** Any catalogue event; `type` narrows `data`. */
export type AnyPoiesisEvent = { [T in EventType]: PoiesisEvent<T> }[EventType];

/** The subject of events about every task rather than one. */
export const ALL_TASKS_SUBJECT = 'all';

const validators = Object.fromEntries(
  EVENT_TYPES.map((type) => [type, Compile(CATALOGUE[type].data)]),
) as Record<EventType, ReturnType<typeof Compile>>;

/** Checks whether `type` is in the catalogue. */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(CATALOGUE, type);
}

/** Returns the components a broker delivers events of `type` to. */
export function consumersOf(type: EventType): readonly Component[] {
  return CATALOGUE[type].consumers;
}

/**
 * Lists every (type, consumer) pair: one embedded-broker subscription or one
 * Knative Trigger each.
 */
export function eventRoutes(): Array<{ type: EventType; consumer: Component }> {
  return EVENT_TYPES.flatMap((type) => consumersOf(type).map((consumer) => ({ type, consumer })));
}

/** Returns the deterministic event id `<taskId>.<type>[.<step>]`. */
export function eventId(taskId: string, type: EventType, step?: string | number): string {
  return step === undefined ? `${taskId}.${type}` : `${taskId}.${type}.${step}`;
}

export interface BuildEventOptions {
  /**
   * Distinguishes events of one type for one task, such as the executor
   * index of `executor.exited`. Publishes of the same step share an id.
   */
  step?: string | number;
  /**
   * The publishing component. It is required for `task.failed` and defaults
   * to the only producer of the other types.
   */
  producer?: Component;
  /** Event `time`, now by default. */
  time?: Date;
}

/**
 * Builds an event of `type` about task `taskId`.
 *
 * @throws InvalidEventError when `data` does not match the type's schema or
 *   the producer may not publish the type.
 */
export function buildEvent<T extends EventType>(
  type: T,
  taskId: string,
  data: EventData<T>,
  options: BuildEventOptions = {},
): PoiesisEvent<T> {
  const producer = resolveProducer(type, options.producer);
  const problems = [...subjectProblems(taskId), ...dataProblems(type, data)];
  if (problems.length > 0) throw new InvalidEventError(problems);

  return new CloudEvent<EventData<T>>({
    specversion: '1.0',
    type,
    source: `/poiesis/${producer}`,
    subject: taskId,
    id: eventId(taskId, type, options.step),
    time: (options.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    data,
  }) as unknown as PoiesisEvent<T>;
}

/**
 * Builds the `reconcile.requested` event of one timer tick. Its id carries
 * the tick time, so each tick is a new event while a redelivered tick keeps its id.
 */
export function buildReconcileEvent(tick: Date): PoiesisEvent<'reconcile.requested'> {
  return buildEvent(
    'reconcile.requested',
    ALL_TASKS_SUBJECT,
    {},
    { step: tick.toISOString(), time: tick },
  );
}

/**
 * Checks an incoming CloudEvent against the catalogue: a known type, a
 * subject, and `data` that is a JSON object matching the type's schema.
 * Absent `data` counts as `{}`, the data of the types that carry none. The
 * CloudEvents attributes themselves are checked by `event.validate()`.
 *
 * @returns the event, typed by its `type`.
 * @throws InvalidEventError listing every problem.
 */
export function validateEvent(event: CloudEventV1<unknown>): AnyPoiesisEvent {
  if (!isEventType(event.type)) {
    throw new InvalidEventError([
      `type: unknown event type ${JSON.stringify(event.type)}; expected one of ${EVENT_TYPES.join(', ')}`,
    ]);
  }
  const data = event.data ?? {};
  const problems = [...subjectProblems(event.subject), ...dataProblems(event.type, data)];
  if (problems.length > 0) throw new InvalidEventError(problems);

  const typed = event.data === undefined ? new CloudEvent({ ...event, data }, false) : event;
  return typed as AnyPoiesisEvent;
}

function resolveProducer(type: EventType, producer: Component | undefined): Component {
  const allowed = CATALOGUE[type].producers;
  if (producer === undefined) {
    if (allowed.length === 1) return allowed[0]!;
    throw new InvalidEventError([
      `producer: required for ${type}; pass one of ${allowed.join(', ')}`,
    ]);
  }
  if (!allowed.includes(producer)) {
    throw new InvalidEventError([
      `producer: ${producer} may not publish ${type}; expected ${allowed.join(' or ')}`,
    ]);
  }
  return producer;
}

function subjectProblems(subject: unknown): string[] {
  if (typeof subject === 'string' && subject.length > 0) return [];
  return ['subject: required, the task id'];
}

function dataProblems(type: EventType, data: unknown): string[] {
  if (!isJsonObject(data)) return ['data: must be a JSON object'];
  return validators[type]
    .Errors(data)
    .map((error) => `${dataPath(error.instancePath)}: ${error.message}`);
}

/** Turns a JSON pointer such as `/outputs/0/url` into `data.outputs[0].url`. */
function dataPath(pointer: string): string {
  const segments = pointer.split('/').slice(1);
  return segments.reduce(
    (path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : `${path}.${segment}`),
    'data',
  );
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
