import { randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import {
  BillingError,
  isDatabaseUnavailable,
  MAX_WEBHOOK_BYTES,
  migrationsApplied,
  receiveStripeWebhook,
} from '@miniapp-billing/billing-core';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import expressStaticGzip from 'express-static-gzip';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { createOpenApiExpressMiddleware } from 'trpc-to-openapi';
import { type ApiDeps, createContext } from './context.ts';
import { HTTP_STATUS, toTRPCError } from './errors.ts';
import { fastQueries } from './http/fast-queries.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './http/json-depth.ts';
import { CREATED_PATHS, openApiDocument } from './openapi.ts';
import { appRouter } from './root.ts';

export interface AppOptions {
  /** Bearer token `/metrics` requires, when set. */
  metricsToken?: string | undefined;
  /** The built Mini App to serve at `/`. */
  miniappDist?: string | undefined;
  /** The schema the tables live in (readiness checks the migrations there). */
  databaseSchema?: string | undefined;
  /** Extra client-side configuration the Mini App reads from `/config.json`. */
  publicConfig?: Record<string, unknown>;
  /** The most procedures one tRPC batch may carry (default 10). */
  maxBatchSize?: number | undefined;
  /** The public base URL (APP_URL): the OpenAPI document's server, never taken from a request. */
  publicUrl?: string | undefined;
  /** Serve the page at /api/v1/docs (off in production unless API_DOCS=1). */
  docs?: boolean | undefined;
  /** The database's own liveness check (DatabaseHandle.ping), for /readyz. */
  ping?: (() => Promise<boolean>) | undefined;
  /** Serve the Mini App's source maps (never in production). */
  sourceMaps?: boolean | undefined;
}

const JSON_LIMIT = 64 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** Every REST operation by `METHOD /path`, from the procedures' OpenAPI meta. */
function restRoutes(): Map<string, string> {
  const routes = new Map<string, string>();
  const walk = (record: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(record)) {
      const def = (
        value as { _def?: { meta?: { openapi?: { method: string; path: string } }; procedure?: boolean; record?: Record<string, unknown> } }
      )._def;
      if (def?.procedure && def.meta?.openapi) routes.set(`${def.meta.openapi.method} ${def.meta.openapi.path}`, `${prefix}${key}`);
      else if (value && typeof value === 'object') walk(value as Record<string, unknown>, `${prefix}${key}.`);
    }
  };
  walk(appRouter._def.record as Record<string, unknown>, '');
  return routes;
}

interface ErrorBody {
  code: string;
  message: string;
  request_id: string;
  reason?: string;
}

/** The caller's X-Request-Id when it is well-formed, else a new one. */
export function requestIdOf(req: { headers: Record<string, string | string[] | undefined> }): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function sendError(res: Response, status: number, code: string, message: string, reason?: string): void {
  if (res.headersSent) return;
  const body: ErrorBody = { code, message, request_id: res.locals.requestId as string, ...(reason ? { reason } : {}) };
  res.status(status).json(body);
}

/**
 * The HTTP face of the service: REST under /api/v1 (trpc-to-openapi over the same procedures as
 * tRPC), tRPC at /trpc, the Stripe webhook, health, metrics, docs and the built Mini App.
 */
export function createApp(deps: ApiDeps, options: AppOptions = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false);
  const routes = restRoutes();
  const procedurePaths = new Set(routes.values());
  const { metrics, logger } = deps;

  // Request id, access log and duration metric, labelled by route template or procedure path.
  app.use((req, res, next) => {
    const requestId = requestIdOf(req);
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      if (res.statusCode >= 500)
        logger.error(
          {
            request_id: requestId,
            method: req.method,
            route,
            status: res.statusCode,
            ms: Math.round(seconds * 1000),
            reason: res.locals.errorReason,
          },
          'request failed',
        );
      else if (logger.isLevelEnabled('debug'))
        logger.debug(
          { request_id: requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) },
          'request',
        );
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.locals.route = 'GET /healthz';
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    res.locals.route = 'GET /readyz';
    const database = options.ping ? await options.ping() : false;
    const migrated = database ? await migrationsApplied(deps.billing.db, options.databaseSchema).catch(() => false) : false;
    res
      .status(database && migrated ? 200 : 503)
      .json({ status: database && migrated ? 'ready' : 'unavailable', database, migrations: migrated });
  });
  app.get('/metrics', async (req, res) => {
    res.locals.route = 'GET /metrics';
    if (options.metricsToken) {
      const given = Buffer.from(req.headers.authorization ?? '');
      const expected = Buffer.from(`Bearer ${options.metricsToken}`);
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        return sendError(res, 401, 'UNAUTHORIZED', 'Missing or invalid metrics token');
    }
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  // Stripe webhook: the raw body, no JSON parser before it; 1 MB at most, refused before any HMAC.
  app.post(
    '/api/v1/billing/webhooks/stripe',
    (_req, res, next) => {
      res.locals.route = 'POST /api/v1/billing/webhooks/stripe';
      next();
    },
    express.raw({ type: () => true, limit: MAX_WEBHOOK_BYTES }),
    async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      try {
        // Stored (deduplicated) and acknowledged; a worker applies it. No Stripe call on this path.
        const receipt = await receiveStripeWebhook(deps.billing, body, req.headers['stripe-signature']);
        if (receipt.outcome === 'queued') deps.wakeWorkers();
        res.json({ received: true, ...(receipt.outcome === 'duplicate' ? { duplicate: true } : {}) });
      } catch (err) {
        const e = toTRPCError(err);
        const reason = err instanceof BillingError ? err.code : 'INTERNAL';
        res.locals.errorReason = reason;
        const status = HTTP_STATUS[e.code] ?? 500;
        sendError(res, status, e.code, status >= 500 ? 'Webhook processing failed; it will be retried' : e.message, reason);
      }
    },
  );

  // OpenAPI document and a page to read and try it.
  // The server URL comes from configuration only: a request's Host header never reaches the document.
  let document: ReturnType<typeof openApiDocument> | undefined;
  const getDocument = () => {
    document ??= openApiDocument(`${(options.publicUrl ?? '').replace(/\/+$/, '')}/api/v1`);
    return document;
  };
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.locals.route = 'GET /api/v1/openapi.json';
    res.json(getDocument());
  });
  if (options.docs !== false)
    app.use(
      '/api/v1/docs',
      (_req: Request, res: Response, next: NextFunction) => {
        res.locals.route = 'GET /api/v1/docs';
        next();
      },
      swaggerUi.serve,
      swaggerUi.setup(undefined, { swaggerOptions: { url: '/api/v1/openapi.json' }, customSiteTitle: 'Mini App Billing API' }),
    );

  // REST: parse JSON ourselves (any charset, clear 4xx), label the route, then hand over.
  const openApi = createOpenApiExpressMiddleware({
    router: appRouter,
    createContext: ({ req, res }) => createContext(deps, req, (res as Response).locals.requestId as string),
    responseMeta: ({ paths, errors }) => {
      const first = errors[0];
      if (first) {
        const validation = first.code === 'BAD_REQUEST' && first.cause?.name === 'ZodError';
        return { status: validation ? 422 : (HTTP_STATUS[first.code] ?? 500) };
      }
      const p = paths?.[0];
      return { status: p === 'billing.checkout.create' || p === 'billing.portal.create' ? 201 : 200 };
    },
    onError: ({ error, path: procedure, ctx }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        deps.logger.error(
          {
            request_id: (ctx as { requestId?: string } | undefined)?.requestId,
            procedure,
            err: { name: error.cause?.name, code: (error.cause as { code?: unknown })?.code },
          },
          'procedure failed',
        );
      }
    },
  });
  const jsonParser = express.json({
    limit: JSON_LIMIT,
    type: () => true,
    strict: false,
    // Bounded before parsing: a deeply nested body is refused, never handed to code that recurses.
    verify: (_req, _res, buf) => {
      if (jsonDepthExceeds(buf)) throw Object.assign(new Error('too deep'), { status: 422, type: 'entity.too.deep' });
    },
  });
  /**
   * trpc-to-openapi answers errors as `{ message, code, data, issues }`; our wire contract is
   * `{ code, message, request_id, reason?, issues? }`. Error answers only are rewritten.
   */
  const handOver = (req: Request, res: Response) => {
    const end = res.end.bind(res) as (chunk?: unknown) => Response;
    (res as unknown as { end: (chunk?: unknown) => Response }).end = (chunk?: unknown) => {
      if (res.statusCode < 400 || typeof chunk !== 'string') return end(chunk);
      let parsed: { message?: string; code?: string; data?: { code?: string; reason?: string; issues?: unknown } } = {};
      try {
        parsed = JSON.parse(chunk);
      } catch {
        // not JSON: replaced below
      }
      const code = parsed.data?.code ?? parsed.code ?? 'INTERNAL_SERVER_ERROR';
      const body: ErrorBody & { issues?: unknown } = {
        code,
        message: res.statusCode >= 500 && code === 'INTERNAL_SERVER_ERROR' ? 'Internal server error' : (parsed.message ?? 'Error'),
        request_id: res.locals.requestId as string,
        ...(parsed.data?.reason && parsed.data.reason !== code ? { reason: parsed.data.reason } : {}),
        ...(parsed.data?.issues ? { issues: parsed.data.issues } : {}),
      };
      if (res.statusCode >= 500) res.locals.errorReason = parsed.data?.reason ?? code;
      const text = JSON.stringify(body);
      res.setHeader('Content-Length', Buffer.byteLength(text));
      return end(text);
    };
    return openApi(req, res);
  };
  app.use('/api/v1', (req, res, next) => {
    const procedure = routes.get(`${req.method} ${req.path}`);
    if (!procedure) {
      res.locals.route = `${req.method} /api/v1 (unknown)`;
      const exists = [...routes.keys()].some((k) => k.endsWith(` ${req.path}`));
      return exists ? sendError(res, 405, 'METHOD_NOT_SUPPORTED', 'Method not allowed') : sendError(res, 404, 'NOT_FOUND', 'Not found');
    }
    res.locals.route = `${req.method} /api/v1${req.path}`;
    if (req.method === 'GET' || req.method === 'DELETE') return handOver(req, res);
    const type = req.headers['content-type'];
    const length = Number(req.headers['content-length'] ?? 0);
    if (!type && (length === 0 || Number.isNaN(length)) && !req.headers['transfer-encoding']) {
      // A POST with no body at all (e.g. /auth/demo) is an empty JSON object.
      req.headers['content-type'] = 'application/json';
      (req as Request & { body: unknown }).body = {};
      return handOver(req, res);
    }
    if (!type || !/^application\/json\s*(;|$)/i.test(type))
      return sendError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
    jsonParser(req, res, (err?: unknown) => {
      if (err) return next(err);
      req.headers['content-type'] = 'application/json';
      handOver(req, res);
    });
  });

  // tRPC, same procedures and context.
  app.use(
    '/trpc',
    (req, res, next) => {
      // Bounded labels: one known procedure by name, a batch by its size class, anything else unmatched.
      const names = req.path.slice(1).split(',');
      res.locals.route = !names.every((n) => procedurePaths.has(n))
        ? 'trpc unmatched'
        : names.length === 1
          ? `trpc ${names[0]}`
          : `trpc batch(${names.length <= 3 ? '2-3' : '4+'})`;
      next();
    },
    createExpressMiddleware({
      router: appRouter,
      createContext: ({ req, res }) => createContext(deps, req, res.locals.requestId as string),
      maxBodySize: JSON_LIMIT,
      maxBatchSize: options.maxBatchSize ?? 10,
      onError: ({ error, path: procedure, ctx }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          deps.logger.error({ request_id: ctx?.requestId, procedure, err: { name: error.cause?.name } }, 'procedure failed');
      },
    }),
  );

  // The Mini App, with client-side routes falling back to index.html.
  if (options.publicConfig) {
    app.get('/config.json', (_req, res) => {
      res.locals.route = 'GET /config.json';
      res.json(options.publicConfig);
    });
  }
  const dist = options.miniappDist;
  if (dist && existsSync(path.join(dist, 'index.html'))) {
    app.use((req, res, next) => {
      if (req.method === 'GET' || req.method === 'HEAD') res.locals.route = 'GET /(app)';
      next();
    });
    // Source maps are for developers: not served in production.
    if (!options.sourceMaps) app.get(/\.map$/, (_req, res) => sendError(res, 404, 'NOT_FOUND', 'Not found'));
    // Precompressed at build (brotli, gzip): the smallest the client accepts, with Content-Encoding.
    // Hashed assets never change: cached for a year; index.html is revalidated every time.
    app.use(
      expressStaticGzip(dist, {
        enableBrotli: true,
        orderPreference: ['br', 'gzip'],
        index: 'index.html',
        serveStatic: {
          setHeaders: (res, file) =>
            res.setHeader(
              'Cache-Control',
              file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
            ),
        },
      }),
    );
    app.get(/^\/(?!api\/|trpc\/|metrics|healthz|readyz).*/, (_req, res) => {
      res.locals.route = 'GET /(app)';
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(path.join(dist, 'index.html'));
    });
  }

  app.use((_req, res) => {
    sendError(res, 404, 'NOT_FOUND', 'Not found');
  });

  // Body parser and other errors: a clear status and code; never a stack or a message from inside.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
    if (status === 413) return sendError(res, 413, 'PAYLOAD_TOO_LARGE', 'Request body too large');
    if ((err as { type?: string }).type === 'entity.too.deep')
      return sendError(res, 422, 'UNPROCESSABLE_CONTENT', `Request body nests deeper than ${MAX_JSON_DEPTH} levels`, 'VALIDATION_FAILED');
    if (status === 400 && (err as { type?: string }).type === 'entity.parse.failed')
      return sendError(res, 400, 'PARSE_ERROR', 'Request body is not valid JSON');
    if (status && status >= 400 && status < 500) return sendError(res, status, 'BAD_REQUEST', 'Bad request');
    if (isDatabaseUnavailable(err))
      return sendError(res, 503, 'SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; try again shortly');
    res.locals.errorReason = (err as Error)?.name ?? 'unknown';
    sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
  });

  return app;
}

/** The request handler for node:http: the hot read path first, everything else to Express. */
/**
 * Security headers for every answer (helmet). The Mini App may be framed by Telegram's web clients
 * and nothing else; it loads only its own scripts (the Telegram SDK is bundled; it writes inline
 * styles, hence `style-src 'unsafe-inline'`).
 */
export const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'self'", 'https://web.telegram.org', 'https://*.telegram.org'],
    },
  },
  // frame-ancestors above decides framing; X-Frame-Options cannot name Telegram's origins.
  frameguard: false,
  referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  crossOriginEmbedderPolicy: false,
});

const isApi = (url: string | undefined) => !!url && (url.startsWith('/api/') || url.startsWith('/trpc'));

/** The request handler for node:http: headers for all, then the hot read path, then Express. */
export function createHandler(deps: ApiDeps, options: AppOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createApp(deps, options);
  const fast = fastQueries(deps, requestIdOf);
  return (req, res) => {
    securityHeaders(req, res, () => {
      // Billing answers are per person: never stored by a browser or a proxy.
      if (isApi(req.url)) res.setHeader('Cache-Control', 'no-store');
      if (!fast(req, res)) app(req, res);
    });
  };
}

export { CREATED_PATHS };
