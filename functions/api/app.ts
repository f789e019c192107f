/**
 * The TES REST API as a Koa app, under `/ga4gh/tes/v1`.
 */
import Router from '@koa/router';
import parseBody from 'co-body';
import Koa, { type Context } from 'koa';
import { BadRequestError, ValidationError } from '../lib/errors.js';
import type { Logger } from '../lib/logging.js';
import type { TesServiceInfo } from '../lib/tes/schemas.js';
import { errorHandler } from './errors.js';
import { parseListRequest, parseView } from './list-query.js';
import { buildOpenApiDocument } from './openapi.js';
import type { TaskService } from './task-service.js';

export const API_PREFIX = '/ga4gh/tes/v1';

export interface ApiAppOptions {
  tasks: TaskService;
  serviceInfo: TesServiceInfo;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  logger: Logger;
}

/**
 * Reads a JSON request body: 400 when it is missing, malformed or cannot
 * be decompressed, 415 unless it is JSON, 413 when too large.
 */
async function readJson(ctx: Context, limit: number): Promise<unknown> {
  // `is` returns null for a request without a body and false for another content type.
  const type = ctx.request.is('application/json', '+json');
  if (type === null || ctx.request.length === 0) {
    throw new BadRequestError('request body is missing; send a tesTask as application/json');
  }
  if (type === false) {
    throw new BadRequestError(
      `request body must be application/json, got ${ctx.get('content-type') || 'no content type'}`,
      415,
    );
  }
  const charset = ctx.request.charset.toLowerCase();
  if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8') {
    throw new BadRequestError(`request body must be UTF-8 JSON, got charset ${charset}`, 415);
  }
  try {
    return await parseBody.json(ctx, { limit, strict: true });
  } catch (error) {
    throw bodyError(ctx, error);
  }
}

/** Converts decompression errors and forbidden keys into 400 errors; returns other errors unchanged. */
function bodyError(ctx: Context, error: unknown): unknown {
  const { status, message } = error as { status?: unknown; message?: unknown };
  // The errors of zlib, such as Z_DATA_ERROR, carry no HTTP status, unlike those of co-body.
  if (status === undefined && ctx.get('content-encoding') !== '') {
    return new BadRequestError(
      `request body could not be decompressed as ${ctx.get('content-encoding')}: ${String(message)}`,
      400,
      { cause: error },
    );
  }
  if (message === 'Object contains forbidden prototype property') {
    const problem = 'request body: keys named __proto__ are not accepted; rename them';
    return new BadRequestError(problem, 400, { cause: error });
  }
  return error;
}

function viewOf(ctx: Context) {
  const problems: string[] = [];
  const raw = ctx.query.view;
  if (Array.isArray(raw)) problems.push('view: must be given once');
  const view = parseView(Array.isArray(raw) ? raw[0] : raw, problems);
  if (problems.length > 0) throw new ValidationError(problems);
  return view;
}

/**
 * Decodes the colon of `/tasks/{id}:cancel`, which some HTTP clients
 * percent-encode. Task ids contain no `%`, so `%3A` can only be that colon.
 */
const decodeColons: Koa.Middleware = async (ctx, next) => {
  if (/%3a/i.test(ctx.path)) ctx.path = ctx.path.replace(/%3a/gi, ':');
  await next();
};

/**
 * Serializes JSON bodies inside the middleware chain, where a failure, such
 * as a body too large for one string, reaches the error handler instead of
 * ending the response as a plain-text 500.
 */
const serializeJson: Koa.Middleware = async (ctx, next) => {
  await next();
  const body: unknown = ctx.body;
  if (typeof body === 'object' && body !== null && !Buffer.isBuffer(body)) {
    ctx.body = JSON.stringify(body);
    ctx.type = 'application/json';
  }
};

export function createApiApp(options: ApiAppOptions): Koa {
  const { tasks, logger } = options;
  const openApi = buildOpenApiDocument();
  const router = new Router({ prefix: API_PREFIX });

  router.get('/service-info', (ctx) => {
    ctx.body = options.serviceInfo;
  });
  router.get('/openapi.json', (ctx) => {
    ctx.body = openApi;
  });
  router.get('/tasks', async (ctx) => {
    ctx.body = await tasks.list(parseListRequest(ctx.query));
  });
  router.post('/tasks', async (ctx) => {
    const body = await readJson(ctx, options.maxBodyBytes);
    ctx.body = { id: await tasks.create(body) };
  });
  router.get('/tasks/:id', async (ctx) => {
    ctx.body = await tasks.get(ctx.params.id!, viewOf(ctx));
  });
  router.post('/tasks/:id\\:cancel', async (ctx) => {
    await tasks.cancel(ctx.params.id!);
    ctx.body = {};
  });

  const app = new Koa();
  app.use(async (ctx, next) => {
    const started = performance.now();
    await next();
    logger.debug(
      { method: ctx.method, path: ctx.path, status: ctx.status, ms: performance.now() - started },
      'request',
    );
  });
  app.use(errorHandler(logger));
  app.use(serializeJson);
  app.use(decodeColons);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
