/**
 * A Koa app that receives events on fixed paths, such as `/` for a
 * component's events and `/dead-letter` for failed deliveries.
 */
import Koa, { type Middleware } from 'koa';

export function eventApp(routes: Record<string, Middleware>): Koa {
  return new Koa().use(async (ctx, next) => {
    const route = routes[ctx.path];
    if (!route) {
      ctx.status = 404;
      ctx.body = { msg: `no event route at ${ctx.path}`, status_code: 404 };
      return;
    }
    await route(ctx, next);
  });
}
