import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { MAX_WEBHOOK_BYTES, migrationsApplied, receiveStripeWebhook } from '@miniapp-billing/billing-core';
import { TRPCError } from '@trpc/server';
import express, { type NextFunction, type Request, type Response } from 'express';
import expressStaticGzip from 'express-static-gzip';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import type { ApiDeps } from './context.ts';
import { type AppShell, buildAppShell, sendAppShell } from './http/app-shell.ts';
import { readJsonBody, readRawBody } from './http/body.ts';
import { type Exchange, exchangeOf, observe } from './http/observe.ts';
import { sendJson, sendRestError } from './http/respond.ts';
import { serveRest } from './http/rest.ts';
import { EDGE_ROUTES, REST_BASE, RouteTable } from './http/routes.ts';
import { TRPC_BASE, trpcHandler } from './http/trpc-http.ts';
import { openApiDocument } from './openapi.ts';
import { appRouter } from './root.ts';

export interface AppOptions {
  /** Bearer token `/metrics` requires, when set. */
  metricsToken?: string | undefined;
  /** The built Mini App to serve at `/`. */
  miniappDist?: string | undefined;
  /** The schema the tables live in (readiness checks the migrations there). */
  databaseSchema?: string | undefined;
  /** Client-side configuration: written into the Mini App's document, and served at `/config.json`. */
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

type Handler = (req: IncomingMessage, res: ServerResponse, exchange: Exchange) => void | Promise<void>;

const notFound = () => new TRPCError({ code: 'NOT_FOUND', message: 'Not found' });

/**
 * Security headers for every answer (helmet). The Mini App may be framed by Telegram's web clients
 * and nothing else; it loads only its own scripts (the Telegram SDK is bundled; it writes inline
 * styles, hence `style-src 'unsafe-inline'`).
 */
export const securityHeaders = (inlineScripts: string[] = []) =>
  helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        // The document's own inline scripts by their hashes (the theme read before the first paint).
        scriptSrc: ["'self'", ...inlineScripts],
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

/**
 * Security headers for API answers (helmet): JSON is never a document, so nothing may load from
 * it or frame it (OWASP's REST headers), and the document-only headers are left out.
 */
const apiSecurityHeaders = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  referrerPolicy: { policy: 'no-referrer' },
  frameguard: false,
  crossOriginOpenerPolicy: false,
  crossOriginEmbedderPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

/**
 * The headers of every API answer: helmet's (above), which depend on nothing in the request, so
 * helmet runs once at start-up and its set is recorded; and `Cache-Control: no-store`, since billing
 * answers are per person and never stored by a browser or a proxy.
 */
const API_HEADERS: Map<string, string | string[]> = (() => {
  const headers = new Map<string, string | string[]>();
  const recorder = {
    setHeader: (name: string, value: string | string[]) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  };
  apiSecurityHeaders(recorder as never, recorder as never, () => undefined);
  if (headers.size === 0) throw new Error('helmet set no headers');
  headers.set('Cache-Control', 'no-store');
  return headers;
})();

/**
 * Pages, not API: the docs page and the built Mini App (precompressed brotli and gzip, hashed
 * assets cached for a year, index.html revalidated, source maps only outside production), through
 * Express; anything it does not serve gets the one 404 body.
 */
function pages(options: AppOptions, shell: AppShell | null): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (options.docs !== false)
    app.use(
      `${REST_BASE}/docs`,
      swaggerUi.serve,
      swaggerUi.setup(undefined, { swaggerOptions: { url: `${REST_BASE}/openapi.json` }, customSiteTitle: 'Mini App Billing API' }),
    );
  const dist = options.miniappDist;
  if (dist && shell) {
    // The document itself, with its stylesheet and configuration inline.
    app.get(['/', '/index.html'], (req, res) => sendAppShell(req, res, shell));
    if (!options.sourceMaps) app.get(/\.map$/, (_req, res) => sendRestError(res, exchangeOf(res), notFound()));
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
    // Client-side routes fall back to index.html.
    app.get(/^\/(?!api\/|trpc\/|metrics|healthz|readyz).*/, (req, res) => sendAppShell(req, res, shell));
  }
  app.use((_req, res) => sendRestError(res, exchangeOf(res), notFound()));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    sendRestError(res, exchangeOf(res), status === 404 ? notFound() : err);
  });
  return app;
}

/**
 * The HTTP face of the service, for node:http. Every request is observed once (request id,
 * duration, access log) and routed by the one route table: REST operations under /api/v1 and tRPC
 * calls at /trpc run the same procedures through the same `callProcedure`; the webhook, health,
 * metrics and the OpenAPI document are answered here; pages go to Express. Every error body comes
 * from `wireError`. Security headers for all (a page's, or an API answer's); billing answers are never stored.
 */
export function createHandler(deps: ApiDeps, options: AppOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const { metrics, logger } = deps;
  const routes = new RouteTable(appRouter);
  const trpc = trpcHandler(deps, routes, options.maxBatchSize ?? 10);
  const shell =
    options.miniappDist && existsSync(path.join(options.miniappDist, 'index.html'))
      ? buildAppShell(options.miniappDist, options.publicConfig)
      : null;
  const site = pages(options, shell);
  const documentHeaders = securityHeaders(shell?.scriptHashes);
  let document: ReturnType<typeof openApiDocument> | undefined;

  const edge = new Map<string, Handler>([
    [EDGE_ROUTES.health, (_req, res) => sendJson(res, 200, { status: 'ok' })],
    [
      EDGE_ROUTES.ready,
      async (_req, res) => {
        const database = options.ping ? await options.ping() : false;
        const migrated = database ? await migrationsApplied(deps.billing.db, options.databaseSchema).catch(() => false) : false;
        const ready = database && migrated;
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', database, migrations: migrated });
      },
    ],
    [
      EDGE_ROUTES.metrics,
      async (req, res, exchange) => {
        if (options.metricsToken) {
          const given = Buffer.from(req.headers.authorization ?? '');
          const expected = Buffer.from(`Bearer ${options.metricsToken}`);
          if (given.length !== expected.length || !timingSafeEqual(given, expected))
            return sendRestError(res, exchange, new TRPCError({ code: 'UNAUTHORIZED', message: 'Missing or invalid metrics token' }));
        }
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(text) }).end(text);
      },
    ],
    [
      // The raw body (the signature covers its bytes), 1 MB at most, refused before any HMAC. Stored
      // (deduplicated) and acknowledged; a worker applies it. No Stripe call on this path.
      EDGE_ROUTES.webhook,
      async (req, res, exchange) => {
        try {
          const body = await readRawBody(req, res, MAX_WEBHOOK_BYTES);
          const receipt = await receiveStripeWebhook(deps.billing, body, req.headers['stripe-signature']);
          if (receipt.outcome === 'queued') deps.wakeWorkers();
          sendJson(res, 200, { received: true, ...(receipt.outcome === 'duplicate' ? { duplicate: true } : {}) });
        } catch (err) {
          sendRestError(res, exchange, err);
        }
      },
    ],
    [
      // The bot's webhook: the secret token checked in constant time before anything is read; each
      // update handled once. Without the Stars rail there is no bot: 404.
      EDGE_ROUTES.telegram,
      async (req, res, exchange) => {
        const bot = deps.bot;
        if (!bot) return sendRestError(res, exchange, notFound());
        if (!bot.authentic(req.headers['x-telegram-bot-api-secret-token']))
          return sendRestError(res, exchange, new TRPCError({ code: 'UNAUTHORIZED', message: 'Missing or invalid secret token' }));
        try {
          const update = (await readJsonBody(req, res)) as { update_id?: unknown } | undefined;
          if (!update || typeof update !== 'object' || !Number.isSafeInteger(update.update_id) || (update.update_id as number) < 0)
            throw new TRPCError({ code: 'BAD_REQUEST', message: 'An update needs a non-negative integer update_id' });
          const outcome = await bot.receive(update as Parameters<typeof bot.receive>[0]);
          sendJson(res, 200, { ok: true, ...(outcome === 'duplicate' ? { duplicate: true } : {}) });
        } catch (err) {
          sendRestError(res, exchange, err);
        }
      },
    ],
    [
      // The server URL comes from configuration only: a request's Host header never reaches the document.
      EDGE_ROUTES.openapi,
      (_req, res) => {
        document ??= openApiDocument(`${(options.publicUrl ?? '').replace(/\/+$/, '')}${REST_BASE}`, routes);
        sendJson(res, 200, document);
      },
    ],
  ]);
  if (options.publicConfig) {
    const config = options.publicConfig;
    edge.set(EDGE_ROUTES.config, (_req, res) => sendJson(res, 200, config));
  }
  const hasApp = shell !== null;

  const route = (req: IncomingMessage, res: ServerResponse, exchange: Exchange): void | Promise<void> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    const search = q < 0 ? '' : url.slice(q + 1);
    const key = `${req.method === 'HEAD' ? 'GET' : req.method} ${pathname}`;
    const operation = routes.rest.get(key);
    if (operation?.rest) {
      exchange.route = key;
      return serveRest(deps, operation, operation.rest.status, req, res, exchange, search);
    }
    const templated = routes.matchTemplate(req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET'), pathname);
    if (templated?.route.rest) {
      exchange.route = templated.key;
      return serveRest(deps, templated.route, templated.route.rest.status, req, res, exchange, search, templated.params);
    }
    const fixed = edge.get(key);
    if (fixed) {
      exchange.route = key;
      return fixed(req, res, exchange);
    }
    if (pathname.startsWith(TRPC_BASE))
      return trpc.serve(req, res, exchange, pathname.slice(TRPC_BASE.length), new URLSearchParams(search));
    if (pathname.startsWith(`${REST_BASE}/`)) {
      if (options.docs !== false && pathname.startsWith(`${REST_BASE}/docs`)) {
        exchange.route = EDGE_ROUTES.docs;
        return site(req, res);
      }
      const known = routes.hasRestPath(pathname) || [...edge.keys()].some((k) => k.endsWith(` ${pathname}`));
      return sendRestError(
        res,
        exchange,
        known ? new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: 'Method not allowed' }) : notFound(),
      );
    }
    if (hasApp && (req.method === 'GET' || req.method === 'HEAD')) exchange.route = EDGE_ROUTES.app;
    return site(req, res);
  };

  return (req, res) => {
    const url = req.url ?? '';
    const api = (url.startsWith('/api/') && !url.startsWith(`${REST_BASE}/docs`)) || url.startsWith(TRPC_BASE);
    const serve = () => {
      const exchange = observe(metrics, logger, req, res);
      Promise.resolve(route(req, res, exchange)).catch((err: unknown) => sendRestError(res, exchange, err));
    };
    if (!api) return documentHeaders(req, res, serve);
    res.setHeaders(API_HEADERS);
    serve();
  };
}
