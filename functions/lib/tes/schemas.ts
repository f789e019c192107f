/**
 * TypeBox schemas of the TES v1.1.0 data model.
 *
 * Names and fields follow `components/schemas` of the TES v1.1.0 OpenAPI
 * document (ga4gh/task-execution-schemas, tag v1.1, commit 117cd92). The
 * schemas are what request validation compiles and what the OpenAPI
 * document of Poiesis is generated from, so the two cannot drift apart.
 */
import Type from 'typebox';

/** A string enum, written as OpenAPI 3.0 expects it rather than as a union of constants. */
function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A JSON object whose values are strings, written as OpenAPI 3.0 expects it. */
function StringMap(description: string) {
  return Type.Unsafe<Record<string, string>>({
    type: 'object',
    additionalProperties: { type: 'string' },
    description,
  });
}

export const TES_STATES = [
  'UNKNOWN',
  'QUEUED',
  'INITIALIZING',
  'RUNNING',
  'PAUSED',
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'PREEMPTED',
  'CANCELING',
] as const;

export const TesState = StringEnum(TES_STATES, {
  title: 'tesState',
  description: 'Task state as defined by the server.',
});
export type TesState = Type.Static<typeof TesState>;

export const TesFileType = StringEnum(['FILE', 'DIRECTORY'], {
  title: 'tesFileType',
  description: 'Whether an input or output is a file or a directory.',
  default: 'FILE',
});
export type TesFileType = Type.Static<typeof TesFileType>;

export const TesInput = Type.Object(
  {
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    url: Type.Optional(Type.String({ description: 'Required unless content is set.' })),
    path: Type.String({ description: 'Absolute path of the file inside the container.' }),
    type: Type.Optional(TesFileType),
    content: Type.Optional(
      Type.String({ description: 'File content literal; when set, url is ignored.' }),
    ),
    streamable: Type.Optional(Type.Boolean()),
  },
  { title: 'tesInput', description: 'Input describes Task input files.' },
);
export type TesInput = Type.Static<typeof TesInput>;

export const TesOutput = Type.Object(
  {
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    url: Type.String(),
    path: Type.String({ description: 'Absolute container path; may contain POSIX wildcards.' }),
    path_prefix: Type.Optional(
      Type.String({ description: 'Prefix removed from wildcard matches before upload.' }),
    ),
    type: Type.Optional(TesFileType),
  },
  { title: 'tesOutput', description: 'Output describes Task output files.' },
);
export type TesOutput = Type.Static<typeof TesOutput>;

/**
 * Largest `ram_gb` and `disk_gb` accepted: 1 PiB in GiB, the unit the
 * runtime converts them with. It is far above any machine, and its byte
 * count is still a safe integer, while a value such as 1e300 would
 * become Infinity bytes.
 */
export const MAX_SIZE_GB = 1024 * 1024;

export const TesResources = Type.Object(
  {
    cpu_cores: Type.Optional(Type.Integer({ format: 'int32', minimum: 1 })),
    preemptible: Type.Optional(Type.Boolean()),
    ram_gb: Type.Optional(
      Type.Number({
        format: 'double',
        exclusiveMinimum: 0,
        maximum: MAX_SIZE_GB,
        description: `Requested RAM in gigabytes, read as GiB; at most ${MAX_SIZE_GB} (1 PiB).`,
      }),
    ),
    disk_gb: Type.Optional(
      Type.Number({
        format: 'double',
        exclusiveMinimum: 0,
        maximum: MAX_SIZE_GB,
        description: `Requested disk size in gigabytes, read as GiB; at most ${MAX_SIZE_GB} (1 PiB).`,
      }),
    ),
    zones: Type.Optional(Type.Array(Type.String())),
    backend_parameters: Type.Optional(StringMap('Key/value pairs for backend configuration.')),
    backend_parameters_strict: Type.Optional(Type.Boolean({ default: false })),
  },
  { title: 'tesResources', description: 'Resources describes the resources requested by a task.' },
);
export type TesResources = Type.Static<typeof TesResources>;

export const TesExecutor = Type.Object(
  {
    image: Type.String({ minLength: 1 }),
    command: Type.Array(Type.String(), { minItems: 1 }),
    workdir: Type.Optional(Type.String()),
    stdin: Type.Optional(Type.String()),
    stdout: Type.Optional(Type.String()),
    stderr: Type.Optional(Type.String()),
    env: Type.Optional(StringMap('Environment variables set within the container.')),
    ignore_error: Type.Optional(Type.Boolean()),
  },
  {
    title: 'tesExecutor',
    description: 'Executor describes a command to be executed, and its environment.',
  },
);
export type TesExecutor = Type.Static<typeof TesExecutor>;

export const TesExecutorLog = Type.Object(
  {
    start_time: Type.Optional(Type.String({ description: 'RFC 3339 time.' })),
    end_time: Type.Optional(Type.String({ description: 'RFC 3339 time.' })),
    stdout: Type.Optional(Type.String({ description: 'Tail of the captured stdout.' })),
    stderr: Type.Optional(Type.String({ description: 'Tail of the captured stderr.' })),
    exit_code: Type.Integer({ format: 'int32' }),
  },
  { title: 'tesExecutorLog', description: 'ExecutorLog describes the run of one executor.' },
);
export type TesExecutorLog = Type.Static<typeof TesExecutorLog>;

export const TesOutputFileLog = Type.Object(
  {
    url: Type.String(),
    path: Type.String(),
    size_bytes: Type.String({ format: 'int64', description: 'Size in bytes, as a decimal.' }),
  },
  { title: 'tesOutputFileLog', description: 'OutputFileLog describes a single output file.' },
);
export type TesOutputFileLog = Type.Static<typeof TesOutputFileLog>;

export const TesTaskLog = Type.Object(
  {
    logs: Type.Array(TesExecutorLog),
    metadata: Type.Optional(StringMap('Logging metadata added by Poiesis.')),
    start_time: Type.Optional(Type.String()),
    end_time: Type.Optional(Type.String()),
    outputs: Type.Array(TesOutputFileLog),
    system_logs: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'tesTaskLog', description: 'TaskLog describes logging information related to a Task.' },
);
export type TesTaskLog = Type.Static<typeof TesTaskLog>;

export const TesTask = Type.Object(
  {
    id: Type.Optional(Type.String({ readOnly: true })),
    state: Type.Optional(TesState),
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    inputs: Type.Optional(Type.Array(TesInput)),
    outputs: Type.Optional(Type.Array(TesOutput)),
    resources: Type.Optional(TesResources),
    executors: Type.Array(TesExecutor, { minItems: 1 }),
    volumes: Type.Optional(Type.Array(Type.String())),
    tags: Type.Optional(StringMap('A key-value map of arbitrary tags.')),
    logs: Type.Optional(Type.Array(TesTaskLog, { readOnly: true })),
    creation_time: Type.Optional(Type.String({ readOnly: true })),
  },
  { title: 'tesTask', description: 'Task describes an instance of a task.' },
);
export type TesTask = Type.Static<typeof TesTask>;

/** A stored task: the fields the server sets are always present. */
export type Task = TesTask & { id: string; state: TesState; creation_time: string };

export const TesCreateTaskResponse = Type.Object(
  { id: Type.String({ description: 'Task identifier assigned by the server.' }) },
  { title: 'tesCreateTaskResponse' },
);

export const TesCancelTaskResponse = Type.Object(
  {},
  { title: 'tesCancelTaskResponse', description: 'The response of CancelTask.' },
);

export const TesListTasksResponse = Type.Object(
  {
    tasks: Type.Array(TesTask),
    next_page_token: Type.Optional(Type.String()),
  },
  { title: 'tesListTasksResponse' },
);
export type TesListTasksResponse = Type.Static<typeof TesListTasksResponse>;

export const TesServiceType = Type.Object(
  {
    group: Type.String(),
    artifact: StringEnum(['tes']),
    version: Type.String(),
  },
  { title: 'tesServiceType' },
);

export const TesServiceInfo = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    type: TesServiceType,
    description: Type.Optional(Type.String()),
    organization: Type.Object({ name: Type.String(), url: Type.String({ format: 'uri' }) }),
    contactUrl: Type.Optional(Type.String({ format: 'uri' })),
    documentationUrl: Type.Optional(Type.String({ format: 'uri' })),
    createdAt: Type.Optional(Type.String({ format: 'date-time' })),
    updatedAt: Type.Optional(Type.String({ format: 'date-time' })),
    environment: Type.Optional(Type.String()),
    version: Type.String(),
    storage: Type.Optional(Type.Array(Type.String())),
    tesResources_backend_parameters: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'tesServiceInfo' },
);
export type TesServiceInfo = Type.Static<typeof TesServiceInfo>;

/** The error body of every 4xx and 5xx response, shaped like GA4GH WES's ErrorResponse. */
export const ErrorResponse = Type.Object(
  {
    msg: Type.String({ description: 'What failed and, where it helps, what to do.' }),
    status_code: Type.Integer({ description: 'The HTTP status code of the response.' }),
  },
  { title: 'ErrorResponse' },
);
export type ErrorResponse = Type.Static<typeof ErrorResponse>;

export const TesView = StringEnum(['MINIMAL', 'BASIC', 'FULL'], { default: 'MINIMAL' });
export type TesView = Type.Static<typeof TesView>;
