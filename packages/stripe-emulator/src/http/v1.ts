import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import qs from 'qs';
import { checkoutLineItems, expand, paginate, routes } from '../api.ts';
import { errorForStatus, invalid, StripeApiError } from '../errors.ts';
import { API_VERSION } from '../objects.ts';
import type { Params } from '../params.ts';
import { confirmationSecretOf, invoicePayments, linksOf, paymentIntent } from '../payments.ts';
import { AccountRateLimiter, drawLatencyMs, type Realism, rateLimited } from '../realism.ts';
import { checkExpandPath, objectOfPath, operationSchema, validateParams } from '../validate.ts';
import { renderAt, requestedVersion, type ServedVersion } from '../versions.ts';
import { type EmulatorContext, IDEMPOTENCY_TTL_MS, type IdempotencyEntry, type RequestRecord } from './context.ts';

export function parseBody(raw: string): Params {
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

/**
 * Stripe's REST API under `/v1`: API keys, `Stripe-Version`, the account's rate limit and latency,
 * injected faults, parameter and expand checks against the spec, `Idempotency-Key` replay, then the
 * operation (`api.ts`), expanded and rendered at the version asked.
 */
export function v1Router(ctx: EmulatorContext, realism: Realism): express.Router {
  const { state, requests, idempotency, log } = ctx;
  const links = linksOf(state);
  const limiter = realism.rateLimit ? new AccountRateLimiter(realism.rateLimit) : null;
  const latency = realism.latency || null;
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
      log?.(`${record.method} ${record.path} ${record.status}${record.replayed ? ' (replayed)' : ''}`);
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
      const fault = ctx.faults.find((f) => (f.method === '*' || f.method.toUpperCase() === req.method) && pathMatches(f.path, fullPath));
      if (fault) {
        fault.count -= 1;
        if (fault.count <= 0) ctx.faults.splice(ctx.faults.indexOf(fault), 1);
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
      let entry: IdempotencyEntry | undefined;
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
          webhookEndpointsChanged: ctx.refreshTargets,
        });
        // Rendered at the request's version before and after expanding: the expanded objects are
        // stored in today's shape, and a 2023 path (`invoice.subscription`) needs the 2023 field.
        const shaped = renderAt(version, result, links);
        // Expanded objects are shown at the version too (a 2023 path reaches 2023 fields).
        const at = (objId: string) => renderAt(version, lookup(objId), links);
        body = expands.length > 0 ? renderAt(version, expand(structuredClone(shaped), expands, at, include), links) : shaped;
      } catch (err) {
        const e = err instanceof StripeApiError ? err : new StripeApiError(500, 'api_error', 'An unknown error occurred');
        if (!(err instanceof StripeApiError)) log?.(`emulator error: ${err instanceof Error ? err.stack : String(err)}`);
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
      case 'pi_':
        try {
          return paymentIntent(state, objId);
        } catch {
          return undefined;
        }
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
    if (object.object === 'invoice' && field === 'confirmation_secret') {
      const invoice = state.invoices.get(objId);
      return invoice ? confirmationSecretOf(state, invoice) : undefined;
    }
    if (object.object === 'invoice' && field === 'payments') {
      return { object: 'list', data: invoicePayments(state, objId), has_more: false, url: `/v1/invoice_payments?invoice=${objId}` };
    }
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

  return v1;
}
