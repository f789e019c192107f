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

/** Reads a JSON request body: 415 unless it is JSON, 413 when too large, 400 when malformed. */
async function readJson(ctx: Context, limit: number): Promise<unknown> {
  if (!ctx.request.is('application/json', '+json')) {
    throw new BadRequestError(
      `request body must be application/json, got ${ctx.get('content-type') || 'no content type'}`,
      415,
    );
  }
  return parseBody.json(ctx, { limit, strict: true });
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
  app.use(decodeColons);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
