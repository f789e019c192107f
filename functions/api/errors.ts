/**
 * The Koa boundary for errors: every failure becomes a GA4GH WES-style body,
 * `{"msg": "...", "status_code": N}`, with the matching HTTP status.
 */
import type { Context, Next } from 'koa';
import { PoiesisError } from '../lib/errors.js';
import type { Logger } from '../lib/logging.js';

export function sendError(ctx: Context, status: number, msg: string): void {
  ctx.status = status;
  ctx.body = { msg, status_code: status };
}

/** Status of errors thrown by libraries such as co-body (`http-errors` shape). */
function exposedStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, expose } = error as { status?: unknown; expose?: unknown };
  if (typeof status === 'number' && status >= 400 && status < 500 && expose !== false) {
    return status;
  }
  return undefined;
}

function libraryMessage(status: number, error: Error): string {
  const type = (error as { type?: string }).type;
  if (status === 413) return `request body too large: ${error.message}`;
  if (error instanceof SyntaxError) return `request body is not valid JSON: ${error.message}`;
  if (type === 'encoding.unsupported') return `request body encoding is not supported`;
  return error.message;
}

/** Middleware that turns thrown errors and unmatched routes into error bodies. */
export function errorHandler(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        sendError(ctx, 404, `no such endpoint: ${ctx.method} ${ctx.path}`);
      } else if (ctx.status === 405 || ctx.status === 501) {
        const allowed = ctx.response.get('Allow');
        sendError(
          ctx,
          ctx.status,
          `method ${ctx.method} is not allowed on ${ctx.path}; allowed: ${allowed}`,
        );
      }
    } catch (error) {
      if (error instanceof PoiesisError) {
        if (error.status >= 500) logger.error({ err: error }, 'request failed');
        sendError(ctx, error.status, error.message);
        return;
      }
      const status = exposedStatus(error);
      if (status !== undefined && error instanceof Error) {
        sendError(ctx, status, libraryMessage(status, error));
        return;
      }
      logger.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      sendError(ctx, 500, 'internal server error; the server log has the details');
    }
  };
}
