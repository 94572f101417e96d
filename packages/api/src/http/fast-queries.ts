import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import { callProcedure, getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import { type ApiDeps, createContext } from '../context.ts';
import { appRouter } from '../root.ts';

/**
 * The hot read path: `GET` of a query procedure that takes no input (the current plan, the plans),
 * over REST (`/api/v1/...`) and tRPC (`/trpc/<path>`, unbatched). It runs the very same procedure,
 * middlewares (auth, error mapping), output validation and error formatter as the adapters do, and
 * answers the same bytes; it only skips the per-request machinery of Express, the REST adapter and
 * the fetch-based tRPC adapter (request/response conversion, abort signals, caller proxies), which
 * a CPU profile showed to be most of the cost of a read. Everything else goes to the adapters.
 */
export function fastQueries(deps: ApiDeps, newRequestId: (req: IncomingMessage) => string) {
  const rest = new Map<string, string>();
  const trpc = new Set<string>();
  const walk = (record: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(record)) {
      const def = (
        value as {
          _def?: { procedure?: boolean; type?: string; inputs?: unknown[]; meta?: { openapi?: { method: string; path: string } } };
        }
      )._def;
      if (def?.procedure) {
        const voidInput = (def.inputs ?? []).every((p) => (p as { def?: { type?: string } })?.def?.type === 'void');
        if (def.type === 'query' && voidInput) {
          trpc.add(`${prefix}${key}`);
          if (def.meta?.openapi?.method === 'GET') rest.set(`/api/v1${def.meta.openapi.path}`, `${prefix}${key}`);
        }
      } else if (value && typeof value === 'object') walk(value as Record<string, unknown>, `${prefix}${key}.`);
    }
  };
  walk(appRouter._def.record as Record<string, unknown>, '');

  const send = (res: ServerResponse, status: number, requestId: string, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId });
    res.end(body);
  };

  /** Handles the request and returns true, or returns false to leave it to the adapters. */
  return function handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' || !req.url) return false;
    const q = req.url.indexOf('?');
    const pathname = q < 0 ? req.url : req.url.slice(0, q);
    let path = rest.get(pathname);
    const isRest = path !== undefined;
    if (!path) {
      if (!pathname.startsWith('/trpc/') || q >= 0) return false;
      const candidate = pathname.slice(6);
      if (!trpc.has(candidate)) return false;
      path = candidate;
    }
    const procedure = path;
    const started = process.hrtime.bigint();
    const requestId = newRequestId(req);
    const route = isRest ? `GET ${pathname}` : `trpc ${procedure}`;
    const ctx = createContext(deps, req, requestId);
    const finish = (status: number, body: string) => {
      send(res, status, requestId, body);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      deps.metrics.httpDuration.observe({ method: 'GET', route, status: String(status) }, seconds);
      // The same access log as the adapters' path (debug level).
      if (status < 500 && deps.logger.isLevelEnabled('debug'))
        deps.logger.debug({ request_id: requestId, method: 'GET', route, status, ms: Math.round(seconds * 1000) }, 'request');
    };
    callProcedure({
      router: appRouter,
      path: procedure,
      getRawInput: async () => undefined,
      ctx,
      type: 'query',
      signal: undefined,
      batchIndex: 0,
    }).then(
      (data) => finish(200, JSON.stringify(isRest ? data : { result: { data } })),
      (cause: unknown) => {
        const error = cause instanceof TRPCError ? cause : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause });
        const shape = getErrorShape({ config: appRouter._def._config, error, type: 'query', path: procedure, input: undefined, ctx }) as {
          message: string;
          data: { code: string; httpStatus: number; reason?: string };
        };
        const status = shape.data.httpStatus;
        if (status >= 500) deps.logger.error({ request_id: requestId, route, status, reason: shape.data.reason }, 'request failed');
        const body = isRest
          ? {
              code: shape.data.code,
              message: shape.message,
              request_id: requestId,
              ...(shape.data.reason && shape.data.reason !== shape.data.code ? { reason: shape.data.reason } : {}),
            }
          : { error: shape };
        finish(status, JSON.stringify(body));
      },
    );
    return true;
  };
}
