/**
 * The OpenAPI 3.0 document of Poiesis: the TES v1.1.0 operations and
 * schemas, generated from the TypeBox schemas the server validates with,
 * plus what Poiesis adds (error responses and their body).
 */
import * as schemas from '../lib/tes/schemas.js';
import { TES_SPEC, POIESIS_VERSION } from '../lib/version.js';
import { DEFAULT_PAGE_SIZE, MAX_TAG_FILTERS, PAGE_SIZE_LIMIT } from './list-query.js';

type JsonObject = Record<string, unknown>;

const COMPONENTS: readonly object[] = [
  schemas.TesCancelTaskResponse,
  schemas.TesCreateTaskResponse,
  schemas.TesExecutor,
  schemas.TesExecutorLog,
  schemas.TesFileType,
  schemas.TesInput,
  schemas.TesListTasksResponse,
  schemas.TesOutput,
  schemas.TesOutputFileLog,
  schemas.TesResources,
  schemas.TesServiceType,
  schemas.TesServiceInfo,
  schemas.TesState,
  schemas.TesTask,
  schemas.TesTaskLog,
  schemas.ErrorResponse,
];

/**
 * A schema as an OpenAPI component: nested schemas that are components
 * themselves (they carry a `title`) become `$ref`s.
 */
function toComponent(schema: unknown, top = true): unknown {
  if (Array.isArray(schema)) return schema.map((item) => toComponent(item, false));
  if (typeof schema !== 'object' || schema === null) return schema;
  const { title, ...rest } = schema as JsonObject;
  if (!top && typeof title === 'string') return { $ref: `#/components/schemas/${title}` };
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(rest)) result[key] = toComponent(value, false);
  // JSON Schema writes an exclusive bound as a number; OpenAPI 3.0 as a flag on minimum.
  if (typeof result.exclusiveMinimum === 'number') {
    result.minimum = result.exclusiveMinimum;
    result.exclusiveMinimum = true;
  }
  return result;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const errorResponse = (description: string) => ({ description, ...json(ref('ErrorResponse')) });

const errors = {
  400: errorResponse('The request is invalid; `msg` lists every problem with its field.'),
  404: errorResponse('No task has this id.'),
  409: errorResponse('The task is in a state that does not allow the operation.'),
  413: errorResponse('The request body is larger than the server accepts.'),
  415: errorResponse('The request body is not `application/json`.'),
  500: errorResponse('An unexpected server error.'),
};

function listParameters(): JsonObject[] {
  const query = (name: string, description: string, schema: JsonObject) => ({
    name,
    in: 'query',
    required: false,
    description,
    schema,
  });
  return [
    query('name_prefix', 'Only tasks whose name starts with this text.', { type: 'string' }),
    query('state', 'Only tasks in this state.', ref('tesState')),
    query('tag_key', 'Tag keys to filter on, zipped by position with `tag_value`.', {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      maxItems: MAX_TAG_FILTERS,
    }),
    query('tag_value', 'Tag values; an empty or missing value matches any value of its key.', {
      type: 'array',
      items: { type: 'string' },
    }),
    query('page_size', `Tasks per page, below ${PAGE_SIZE_LIMIT}; ${DEFAULT_PAGE_SIZE} if unset.`, {
      type: 'integer',
      format: 'int32',
      minimum: 1,
      maximum: PAGE_SIZE_LIMIT - 1,
    }),
    query('page_token', 'The `next_page_token` of the previous page.', { type: 'string' }),
    { $ref: '#/components/parameters/view' },
  ];
}

const idParameter = (description: string) => ({
  name: 'id',
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});

/** Builds the document served at `/ga4gh/tes/v1/openapi.json` and kept in `openapi/`. */
export function buildOpenApiDocument(): JsonObject {
  const components: JsonObject = {};
  for (const schema of COMPONENTS) {
    const { title } = schema as { title: string };
    components[title] = toComponent(JSON.parse(JSON.stringify(schema)));
  }
  return {
    openapi: '3.0.1',
    info: {
      title: 'Poiesis Task Execution Service',
      version: POIESIS_VERSION,
      description:
        `GA4GH TES ${TES_SPEC.version} (${TES_SPEC.repository}, tag ${TES_SPEC.tag}, ` +
        `commit ${TES_SPEC.commit.slice(0, 7)}) as served by Poiesis. Errors use the GA4GH ` +
        'WES body `{"msg": ..., "status_code": ...}`.',
      license: { name: 'Apache 2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    servers: [{ url: '/ga4gh/tes/v1' }],
    paths: {
      '/service-info': {
        get: {
          tags: ['TaskService'],
          summary: 'GetServiceInfo',
          operationId: 'GetServiceInfo',
          responses: { 200: { description: '', ...json(ref('tesServiceInfo')) }, 500: errors[500] },
        },
      },
      '/tasks': {
        get: {
          tags: ['TaskService'],
          summary: 'ListTasks',
          operationId: 'ListTasks',
          parameters: listParameters(),
          responses: {
            200: { description: '', ...json(ref('tesListTasksResponse')) },
            400: errors[400],
            500: errors[500],
          },
        },
        post: {
          tags: ['TaskService'],
          summary: 'CreateTask',
          operationId: 'CreateTask',
          requestBody: { required: true, ...json(ref('tesTask')) },
          responses: {
            200: { description: '', ...json(ref('tesCreateTaskResponse')) },
            400: errors[400],
            413: errors[413],
            415: errors[415],
            500: errors[500],
          },
          'x-codegen-request-body-name': 'body',
        },
      },
      '/tasks/{id}': {
        get: {
          tags: ['TaskService'],
          summary: 'GetTask',
          operationId: 'GetTask',
          parameters: [
            idParameter('ID of task to retrieve.'),
            { $ref: '#/components/parameters/view' },
          ],
          responses: {
            200: { description: '', ...json(ref('tesTask')) },
            400: errors[400],
            404: errors[404],
            500: errors[500],
          },
        },
      },
      '/tasks/{id}:cancel': {
        post: {
          tags: ['TaskService'],
          summary: 'CancelTask',
          operationId: 'CancelTask',
          parameters: [idParameter('ID of task to be canceled.')],
          responses: {
            200: { description: '', ...json(ref('tesCancelTaskResponse')) },
            404: errors[404],
            409: errors[409],
            500: errors[500],
          },
        },
      },
    },
    components: {
      parameters: {
        view: {
          name: 'view',
          in: 'query',
          description:
            'MINIMAL: `id` and `state` only. BASIC: all but executor stdout and stderr, ' +
            'input `content` and `system_logs`. FULL: everything.',
          schema: { type: 'string', default: 'MINIMAL', enum: ['MINIMAL', 'BASIC', 'FULL'] },
        },
      },
      schemas: components,
    },
  };
}
