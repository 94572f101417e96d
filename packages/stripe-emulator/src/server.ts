import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import qs from 'qs';
import { checkoutLineItems, expand, paginate, routes } from './api.ts';
import { errorForStatus, invalid, StripeApiError } from './errors.ts';
import { API_VERSION } from './objects.ts';
import { checkoutPage, invoicePage, messagePage, portalPage } from './pages.ts';
import type { Params } from './params.ts';
import { closeDispute, openDispute } from './payments.ts';
import { renderInvoicePdf } from './pdf.ts';
import { AccountRateLimiter, drawLatencyMs, type Realism, rateLimited } from './realism.ts';
import { DEFAULT_CATALOG, isLive, newId, type SeedPrice, type StateSnapshot, StripeState } from './state.ts';
import { checkExpandPath, objectOfPath, operationSchema, validateParams } from './validate.ts';
import { isServedVersion, renderAt, requestedVersion, SERVED_VERSIONS, type ServedVersion } from './versions.ts';
import { DEFAULT_WEBHOOK_OPTIONS, type DeliveryAttempt, WebhookDispatcher, type WebhookOptions, type WebhookTarget } from './webhooks.ts';

export interface EmulatorOptions {
  /** Port to listen on; 0 picks a free one. Default 12111. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Base URL used in hosted-page links when the emulator sits behind another address. */
  publicUrl?: string;
  /** A webhook endpoint configured at start (like one set up in the Dashboard). */
  webhook?: { url: string; secret: string; events?: string[] };
  webhookOptions?: Partial<WebhookOptions>;
  /** The seeded product catalog; default premium/vip/enterprise monthly. */
  catalog?: SeedPrice[];
  /** Called with one line per API request (method, path, status); off by default. */
  log?: (line: string) => void;
  /** Stripe's latency, rate limit and unordered webhooks (`realism.ts`); all off when unset. */
  realism?: Realism;
  /**
   * A JSON file that keeps the account across restarts: loaded at start when present, written
   * (atomically, at most once a second) after changes and on close.
   */
  stateFile?: string;
}

export interface Fault {
  method: string;
  path: string;
  status?: number;
  delay_ms?: number;
  /** Run the operation, then drop the connection before answering (Stripe committed; the client never heard). */
  drop?: boolean;
  count: number;
}

export interface RequestRecord {
  id: string;
  method: string;
  path: string;
  status: number;
  idempotency_key: string | null;
  replayed: boolean;
  fault: string | null;
  at: string;
}

export interface RunningEmulator {
  url: string;
  port: number;
  state: StripeState;
  webhooks: WebhookDispatcher;
  /** Every `/v1` request received, oldest first. */
  requests: RequestRecord[];
  /** Resolves when every webhook delivery has succeeded or given up. */
  webhooksIdle(): Promise<void>;
  /** Points the configured webhook endpoint somewhere else (e.g. once the receiving server listens). */
  setWebhook(webhook: { url: string; secret: string; events?: string[] }): void;
  close(): Promise<void>;
}

interface IdempotencyEntry {
  requestId: string;
  method: string;
  path: string;
  hash: string;
  status: number;
  body: unknown;
  done: boolean;
}

const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

function parseBody(raw: string): Params {
  return qs.parse(raw, { depth: 10, arrayLimit: 100, parameterLimit: 10_000, allowDots: false }) as Params;
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === '') return [];
  return Array.isArray(value) ? value : typeof value === 'object' && value !== null ? Object.values(value) : [value];
}

function apiKey(req: Request): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const [scheme, value] = header.split(' ', 2);
  if (scheme?.toLowerCase() === 'bearer') return value ?? '';
  if (scheme?.toLowerCase() === 'basic' && value) return Buffer.from(value, 'base64').toString().split(':')[0] ?? '';
  return '';
}

function maskKey(key: string): string {
  return key.length > 8 ? `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}` : '****';
}

function pathMatches(pattern: string, path: string): boolean {
  if (pattern === '*' || pattern === path) return true;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]+')}$`,
  );
  return re.test(path);
}

/** Starts a stateful Stripe API on loopback. `close()` stops the server and every pending delivery. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  let baseUrl = options.publicUrl ?? '';
  const realism = options.realism ?? {};
  const webhookOptions = { ...DEFAULT_WEBHOOK_OPTIONS, ...(realism.webhooks ?? {}), ...options.webhookOptions };
  const limiter = realism.rateLimit ? new AccountRateLimiter(realism.rateLimit) : null;
  const latency = realism.latency || null;
  const dispatcher = new WebhookDispatcher(webhookOptions);
  let configured: WebhookTarget[] = options.webhook
    ? [
        {
          id: 'we_configured',
          url: options.webhook.url,
          secret: options.webhook.secret,
          enabledEvents: options.webhook.events ?? ['*'],
          apiVersion: API_VERSION,
        },
      ]
    : [];
  let targets: WebhookTarget[] = configured;
  let persist: () => void = () => undefined;
  let flushState: () => void = () => undefined;
  const state: StripeState = new StripeState(
    () => baseUrl,
    (event) => {
      dispatcher.dispatch(event, targets);
      persist();
    },
    options.catalog ?? DEFAULT_CATALOG,
  );
  if (options.stateFile) {
    const file = options.stateFile;
    if (existsSync(file)) state.restore(JSON.parse(readFileSync(file, 'utf8')) as StateSnapshot);
    let timer: NodeJS.Timeout | undefined;
    const write = () => {
      timer = undefined;
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, JSON.stringify(state.snapshot()));
      renameSync(`${file}.tmp`, file);
    };
    persist = () => {
      timer ??= setTimeout(write, 1000);
      timer.unref();
    };
    flushState = () => {
      if (timer) clearTimeout(timer);
      write();
    };
  }
  const refreshTargets = () => {
    targets = [
      ...configured,
      ...[...state.webhookEndpoints.values()]
        .filter((e) => e.status === 'enabled' && e.secret)
        .map((e) => ({
          id: e.id,
          url: e.url,
          secret: e.secret as string,
          enabledEvents: e.enabled_events,
          apiVersion: e.api_version && isServedVersion(e.api_version) ? e.api_version : API_VERSION,
        })),
    ];
  };
  const idempotency = new Map<string, IdempotencyEntry & { at: number }>();
  let faults: Fault[] = [];
  const requests: RequestRecord[] = [];

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', (s: string) => parseBody(s));
  app.set('etag', false);

  app.use((_req, res, next) => {
    res.locals.requestId = newId('req');
    res.setHeader('Request-Id', res.locals.requestId as string);
    next();
  });

  // ------------------------------------------------------------------ /v1
  const v1 = express.Router();
  v1.use(express.text({ type: () => true, limit: '1mb' }));
  v1.use((req, res, next) => {
    res.setHeader('Stripe-Version', API_VERSION);
    const key = apiKey(req);
    const requestId = res.locals.requestId as string;
    const record: RequestRecord = {
      id: requestId,
      method: req.method,
      path: req.baseUrl + req.path,
      status: 0,
      idempotency_key: (req.headers['idempotency-key'] as string | undefined) ?? null,
      replayed: false,
      fault: null,
      at: new Date().toISOString(),
    };
    requests.push(record);
    res.locals.record = record;
    res.on('finish', () => {
      record.status = res.statusCode;
      options.log?.(`${record.method} ${record.path} ${record.status}${record.replayed ? ' (replayed)' : ''}`);
    });
    res.on('close', () => {
      if (!res.writableFinished && record.status === 0) record.status = -1;
    });
    if (!key) {
      return sendError(
        res,
        new StripeApiError(
          401,
          'invalid_request_error',
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        ),
      );
    }
    if (!/^(sk|rk)_test_[A-Za-z0-9_]+$/.test(key)) {
      return sendError(res, new StripeApiError(401, 'invalid_request_error', `Invalid API Key provided: ${maskKey(key)}`));
    }
    try {
      res.locals.version = requestedVersion(req.headers['stripe-version']);
    } catch (err) {
      return sendError(res, err as StripeApiError);
    }
    res.setHeader('Stripe-Version', res.locals.version as string);
    next();
  });

  const sendError = (res: Response, err: StripeApiError) => {
    res.status(err.status).json(err.toBody(res.locals.requestId as string));
  };

  for (const [method, path, handler] of routes) {
    const sub = path.slice('/v1'.length);
    const schema = operationSchema(method, path);
    if (!schema) throw new Error(`emulator route ${method} ${path} is not an operation of the pinned Stripe API`);
    const objectName = objectOfPath(path.replace(/:\w+/g, 'x'));
    const answersList = method === 'GET' && !/:\w+$/.test(path);
    const run = async (req: Request, res: Response) => {
      const record = res.locals.record as RequestRecord;
      const fullPath = req.baseUrl + req.path;
      if (limiter && !limiter.take(req.method === 'GET' ? 'read' : 'write')) {
        record.fault = 'rate limit';
        return sendError(res, rateLimited());
      }
      if (latency) await new Promise((r) => setTimeout(r, drawLatencyMs(latency)));
      const fault = faults.find((f) => (f.method === '*' || f.method.toUpperCase() === req.method) && pathMatches(f.path, fullPath));
      if (fault) {
        fault.count -= 1;
        faults = faults.filter((f) => f.count > 0);
        record.fault = fault.status ? `status ${fault.status}` : fault.drop ? 'drop' : `delay ${fault.delay_ms}ms`;
        if (fault.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
        if (fault.status) {
          const err = errorForStatus(fault.status);
          if (fault.status === 429) res.setHeader('Stripe-Should-Retry', 'false');
          return sendError(res, err);
        }
      }
      const params: Params =
        req.method === 'GET' || req.method === 'DELETE'
          ? { ...(req.query as Params), ...(typeof req.body === 'string' && req.body ? parseBody(req.body) : {}) }
          : typeof req.body === 'string'
            ? parseBody(req.body)
            : {};
      // Stripe refuses a request that does not fit the operation before it runs or is remembered.
      const version = res.locals.version as ServedVersion;
      let expands: string[];
      try {
        validateParams(schema, params);
        expands = [...new Set(asArray(params.expand).map(String))];
        for (const p of expands) {
          if (!objectName) throw invalid(`This property cannot be expanded (${p}).`, 'expand');
          checkExpandPath(version, objectName, answersList, p);
        }
      } catch (err) {
        if (err instanceof StripeApiError) return sendError(res, err);
        throw err;
      }
      const key = req.method === 'POST' ? ((req.headers['idempotency-key'] as string | undefined) ?? null) : null;
      let entry: (IdempotencyEntry & { at: number }) | undefined;
      if (key) {
        if (key.length > 255) return sendError(res, invalid('Idempotency-Key must be at most 255 characters long.', 'idempotency_key'));
        // Stripe echoes the key (the SDK reads it into lastResponse.idempotencyKey).
        res.setHeader('Idempotency-Key', key);
        const hash = createHash('sha256').update(JSON.stringify(params)).digest('hex');
        const prior = idempotency.get(key);
        if (prior && Date.now() - prior.at > IDEMPOTENCY_TTL_MS) idempotency.delete(key);
        const existing = idempotency.get(key);
        if (existing) {
          if (!existing.done) {
            return sendError(
              res,
              new StripeApiError(
                409,
                'idempotency_error',
                `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
              ),
            );
          }
          if (existing.method !== req.method || existing.path !== fullPath || existing.hash !== hash) {
            return sendError(
              res,
              new StripeApiError(
                400,
                'idempotency_error',
                `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
              ),
            );
          }
          record.replayed = true;
          res.setHeader('Idempotent-Replayed', 'true');
          res.setHeader('Original-Request', existing.requestId);
          return res.status(existing.status).json(existing.body);
        }
        entry = {
          requestId: res.locals.requestId as string,
          method: req.method,
          path: fullPath,
          hash,
          status: 0,
          body: null,
          done: false,
          at: Date.now(),
        };
        idempotency.set(key, entry);
      }
      let status = 200;
      let body: unknown;
      try {
        const result = handler({
          state,
          params,
          pathParams: req.params as Record<string, string>,
          request: { id: res.locals.requestId as string, idempotency_key: key },
          webhookEndpointsChanged: refreshTargets,
        });
        // Rendered at the request's version before and after expanding: the expanded objects are
        // stored in today's shape, and a 2023 path (`invoice.subscription`) needs the 2023 field.
        const shaped = renderAt(version, result);
        body = expands.length > 0 ? renderAt(version, expand(structuredClone(shaped), expands, lookup, include)) : shaped;
      } catch (err) {
        const e = err instanceof StripeApiError ? err : new StripeApiError(500, 'api_error', 'An unknown error occurred');
        if (!(err instanceof StripeApiError)) options.log?.(`emulator error: ${err instanceof Error ? err.stack : String(err)}`);
        status = e.status;
        body = e.toBody(res.locals.requestId as string);
      }
      if (entry) Object.assign(entry, { status, body, done: true });
      if (fault?.drop) {
        req.socket.destroy();
        return;
      }
      res.status(status).json(body);
    };
    const register = { GET: v1.get, POST: v1.post, DELETE: v1.delete }[method as 'GET' | 'POST' | 'DELETE'].bind(v1);
    register(sub, (req, res, next) => {
      run(req, res).catch(next);
    });
  }
  v1.use((req, res) => {
    sendError(
      res,
      new StripeApiError(
        404,
        'invalid_request_error',
        `Unrecognized request URL (${req.method}: ${req.baseUrl + req.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      ),
    );
  });
  v1.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (status === 413) return sendError(res, new StripeApiError(413, 'invalid_request_error', 'Request body too large.'));
    sendError(res, new StripeApiError(500, 'api_error', 'An unknown error occurred'));
  });
  app.use('/v1', v1);

  const lookup = (objId: string): unknown => {
    const prefix = objId.slice(0, objId.indexOf('_') + 1);
    switch (prefix) {
      case 'cus_':
        return (
          state.customers.get(objId) ?? (state.deletedCustomers.has(objId) ? { id: objId, object: 'customer', deleted: true } : undefined)
        );
      case 'sub_':
        return state.subscriptions.get(objId);
      case 'in_':
        return state.invoices.get(objId);
      case 'price_':
        return state.prices.get(objId);
      case 'prod_':
        return state.products.get(objId);
      case 'cs_':
        return state.checkoutSessions.get(objId);
      case 'evt_':
        return state.events.get(objId);
      case 'ch_':
        return state.charges.get(objId);
      case 're_':
        return state.refunds.get(objId);
      case 'du_':
        return state.disputes.get(objId);
      case 'promo_':
        return state.promotionCodes.get(objId);
      case 'di_':
        return state.discounts.get(objId);
      default:
        return undefined;
    }
  };

  /** Fields Stripe leaves out unless expanded (`line_items` of a Checkout Session, a customer's lists). */
  const include = (object: Record<string, unknown>, field: string): unknown => {
    const objId = String(object.id ?? '');
    if (object.object === 'checkout.session' && field === 'line_items') return checkoutLineItems(state, objId, {});
    if (object.object === 'customer' && field === 'subscriptions') {
      return paginate(
        [...state.subscriptions.values()].filter((s) => s.customer === objId && s.status !== 'canceled'),
        {},
        `/v1/customers/${objId}/subscriptions`,
      );
    }
    if (object.object === 'customer' && (field === 'tax_ids' || field === 'sources')) {
      return { object: 'list', data: [], has_more: false, url: `/v1/customers/${objId}/${field}` };
    }
    return undefined;
  };

  // ------------------------------------------------------------------ hosted pages
  const pages = express.Router();
  pages.use(express.urlencoded({ extended: false, limit: '64kb' }));
  const productName = (productId: string) => state.products.get(productId)?.name ?? 'Plan';
  const checkoutLines = (sessionId: string) =>
    state.lineItemsOf(sessionId).map((l) => ({ price: l.price, productName: productName(l.price.product), quantity: l.quantity }));

  pages.get('/checkout/:id', (req, res) => {
    const session = state.checkoutSessions.get(req.params.id);
    if (!session) return res.status(404).type('html').send(messagePage('Not found', 'This checkout session does not exist.'));
    if (session.status === 'open' && session.expires_at <= state.now())
      state.expireCheckoutSession(session.id, { id: null, idempotency_key: null });
    res.type('html').send(checkoutPage(session, checkoutLines(session.id)));
  });
  pages.post('/checkout/:id/pay', (req, res) => {
    const session = state.checkoutSessions.get(req.params.id);
    if (!session) return res.status(404).type('html').send(messagePage('Not found', 'This checkout session does not exist.'));
    const card = String((req.body as Record<string, unknown>)?.card ?? '').replace(/\s+/g, '');
    try {
      const email = String((req.body as Record<string, unknown>)?.email ?? '').trim();
      if (email && !session.customer && !session.customer_email) session.customer_email = email;
      const code = String((req.body as Record<string, unknown>)?.promotion_code ?? '').trim();
      const done = state.completeCheckoutSession(
        session.id,
        card === '4000000000000002' ? 'card_declined' : 'succeeded',
        code || undefined,
      );
      if (done.status !== 'complete') {
        return res
          .status(402)
          .type('html')
          .send(checkoutPage(done, checkoutLines(done.id), 'Your card was declined. Try another card.'));
      }
      const target = (done.success_url ?? '').replaceAll('{CHECKOUT_SESSION_ID}', done.id);
      if (!target) return res.type('html').send(messagePage('Payment complete', 'Thanks! You can close this page.'));
      res.redirect(303, target);
    } catch (err) {
      const message = err instanceof StripeApiError ? err.message : 'Something went wrong.';
      res
        .status(400)
        .type('html')
        .send(checkoutPage(session, checkoutLines(session.id), message));
    }
  });

  const portalView = (sessionId: string, notice?: string) => {
    const session = state.portalSessions.get(sessionId);
    if (!session) return null;
    const subs = [...state.subscriptions.values()]
      .filter((s) => s.customer === session.customer && isLive(s.status))
      .map((sub) => ({ sub, productName: productName(sub.items.data[0]?.price.product ?? '') }));
    const prices = [...state.prices.values()]
      .filter((p) => p.active && p.type === 'recurring')
      .map((price) => ({ price, productName: productName(price.product) }));
    const invoices = [...state.invoices.values()].filter((i) => i.customer === session.customer && i.status !== 'draft').reverse();
    return portalPage(session, subs, prices, invoices, notice);
  };
  pages.get('/portal/:id', (req, res) => {
    const html = portalView(req.params.id);
    if (!html) return res.status(404).type('html').send(messagePage('Not found', 'This portal session does not exist.'));
    res.type('html').send(html);
  });
  pages.post('/portal/:id/subscriptions/:sub/:action', (req, res) => {
    const session = state.portalSessions.get(req.params.id);
    const sub = state.subscriptions.get(req.params.sub);
    if (!session || !sub || sub.customer !== session.customer) {
      return res.status(404).type('html').send(messagePage('Not found', 'This subscription is not part of this portal session.'));
    }
    const who = { id: null, idempotency_key: null };
    try {
      let notice = '';
      switch (req.params.action) {
        case 'cancel':
          state.updateSubscription(sub.id, { cancel_at_period_end: true }, who);
          notice = 'Your plan will be canceled at the end of the billing period.';
          break;
        case 'resume':
          state.updateSubscription(sub.id, { cancel_at_period_end: false }, who);
          notice = 'Your plan will renew.';
          break;
        case 'update': {
          const price = String((req.body as Record<string, unknown>)?.price ?? '');
          state.updateSubscription(sub.id, { items: [{ id: sub.items.data[0]?.id, price }], proration_behavior: 'always_invoice' }, who);
          notice = 'Your plan was updated.';
          break;
        }
        default:
          return res.status(404).type('html').send(messagePage('Not found', 'Unknown action.'));
      }
      res.type('html').send(portalView(session.id, notice));
    } catch (err) {
      const message = err instanceof StripeApiError ? err.message : 'Something went wrong.';
      res.status(400).type('html').send(portalView(session.id, message));
    }
  });
  pages.get('/invoices/:id', (req, res) => {
    const invoice = state.invoices.get(req.params.id);
    if (!invoice) return res.status(404).type('html').send(messagePage('Not found', 'This invoice does not exist.'));
    res.type('html').send(invoicePage(invoice));
  });
  pages.get('/invoices/:id/pdf', async (req, res, next) => {
    const invoice = state.invoices.get(req.params.id);
    if (!invoice) return res.status(404).type('text').send('Invoice not found');
    try {
      const pdf = await renderInvoicePdf(invoice);
      res.type('application/pdf').setHeader('Content-Disposition', `inline; filename="${invoice.number ?? invoice.id}.pdf"`);
      res.send(pdf);
    } catch (err) {
      next(err);
    }
  });
  app.use(pages);

  // ------------------------------------------------------------------ control API
  const control = express.Router();
  control.use(express.json({ limit: '64kb' }));
  const controlError = (res: Response, err: unknown) => {
    if (err instanceof StripeApiError) return res.status(err.status).json(err.toBody(res.locals.requestId as string));
    res.status(500).json({ error: { type: 'api_error', message: 'Control request failed.' } });
  };
  control.post('/checkout/sessions/:id/complete', (req, res) => {
    const body = (req.body ?? {}) as { outcome?: string; promotion_code?: unknown };
    const outcome = body.outcome ?? 'succeeded';
    if (outcome !== 'succeeded' && outcome !== 'card_declined') {
      return controlError(res, invalid('outcome must be "succeeded" or "card_declined"', 'outcome'));
    }
    if (body.promotion_code !== undefined && typeof body.promotion_code !== 'string') {
      return controlError(res, invalid('promotion_code must be a string', 'promotion_code'));
    }
    try {
      res.json(state.completeCheckoutSession(req.params.id, outcome, body.promotion_code));
    } catch (err) {
      controlError(res, err);
    }
  });
  control.post('/customers/:id/card', (req, res) => {
    const fails = (req.body as { fails?: unknown } | undefined)?.fails;
    if (typeof fails !== 'boolean') return controlError(res, invalid('fails must be a boolean', 'fails'));
    try {
      state.setCardFails(req.params.id, fails);
      res.json({ customer: req.params.id, fails });
    } catch (err) {
      controlError(res, err);
    }
  });
  control.post('/charges/:id/dispute', (req, res) => {
    const reason = (req.body as { reason?: unknown } | undefined)?.reason ?? 'fraudulent';
    if (typeof reason !== 'string') return controlError(res, invalid('reason must be a string', 'reason'));
    try {
      res.json(openDispute(state, req.params.id, reason, { id: null, idempotency_key: null }));
    } catch (err) {
      controlError(res, err);
    }
  });
  control.post('/disputes/:id/close', (req, res) => {
    const outcome = (req.body as { outcome?: unknown } | undefined)?.outcome;
    if (outcome !== 'won' && outcome !== 'lost') return controlError(res, invalid('outcome must be "won" or "lost"', 'outcome'));
    try {
      res.json(closeDispute(state, req.params.id, outcome, { id: null, idempotency_key: null }));
    } catch (err) {
      controlError(res, err);
    }
  });
  control.post('/clock/advance', (req, res) => {
    const seconds = (req.body as { seconds?: unknown } | undefined)?.seconds;
    if (typeof seconds !== 'number') return controlError(res, invalid('seconds must be a number', 'seconds'));
    try {
      res.json(state.advanceClock(seconds));
    } catch (err) {
      controlError(res, err);
    }
  });
  control.get('/clock', (_req, res) => {
    res.json({ now: state.now() });
  });
  control.post('/faults', (req, res) => {
    const f = req.body as Partial<Fault> | undefined;
    if (!f || typeof f.path !== 'string' || (f.method !== undefined && typeof f.method !== 'string')) {
      return controlError(res, invalid('A fault needs a path (and optionally method).', 'path'));
    }
    const count = f.count ?? 1;
    if (!Number.isInteger(count) || count < 1) return controlError(res, invalid('count must be a positive integer', 'count'));
    if (f.status === undefined && f.delay_ms === undefined && !f.drop) {
      return controlError(res, invalid('A fault needs status, delay_ms or drop.', 'status'));
    }
    if (f.status !== undefined && (!Number.isInteger(f.status) || f.status < 400 || f.status > 599)) {
      return controlError(res, invalid('status must be an HTTP error status (400–599).', 'status'));
    }
    const fault: Fault = { method: (f.method ?? '*').toUpperCase(), path: f.path, count };
    if (f.status !== undefined) fault.status = f.status;
    if (f.delay_ms !== undefined) fault.delay_ms = Math.max(0, Number(f.delay_ms));
    if (f.drop) fault.drop = true;
    faults.push(fault);
    res.status(201).json(fault);
  });
  control.get('/faults', (_req, res) => {
    res.json({ data: faults });
  });
  control.delete('/faults', (_req, res) => {
    faults = [];
    res.json({ deleted: true });
  });
  control.get('/requests', (_req, res) => {
    res.json({ data: requests });
  });
  control.delete('/requests', (_req, res) => {
    requests.length = 0;
    res.json({ deleted: true });
  });
  control.post('/reset', (_req, res) => {
    state.reset();
    faults = [];
    requests.length = 0;
    idempotency.clear();
    dispatcher.reset();
    refreshTargets();
    res.json({ reset: true });
  });
  control.get('/webhooks/deliveries', (_req, res) => {
    res.json({ data: dispatcher.log satisfies DeliveryAttempt[] });
  });
  control.post('/webhooks/flush', async (_req, res) => {
    await dispatcher.idle();
    res.json({ idle: true });
  });
  app.use('/_emulator', control);
  app.get('/', (_req, res) => {
    res.json({ emulator: 'stripe', api_version: API_VERSION, versions: SERVED_VERSIONS, url: baseUrl });
  });

  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(options.port ?? 12111, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  if (!baseUrl) baseUrl = url;

  return {
    url,
    port,
    state,
    webhooks: dispatcher,
    requests,
    webhooksIdle: () => dispatcher.idle(),
    setWebhook: (webhook) => {
      configured = [
        { id: 'we_configured', url: webhook.url, secret: webhook.secret, enabledEvents: webhook.events ?? ['*'], apiVersion: API_VERSION },
      ];
      refreshTargets();
    },
    close: () =>
      new Promise<void>((resolve) => {
        flushState();
        dispatcher.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
