import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { TelegramError } from './errors.ts';
import { callMethod } from './methods.ts';
import { type PayOutcome, TelegramState, type TelegramStateOptions } from './state.ts';

export interface EmulatorOptions extends Partial<TelegramStateOptions> {
  port?: number;
  host?: string;
}

export interface RunningTelegramEmulator {
  url: string;
  port: number;
  /** The Bot API root a bot library takes (`${url}/bot<token>/<method>` is the call). */
  apiRoot: string;
  token: string;
  state: TelegramState;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;
const DEFAULT_TOKEN = '7000000001:AAEmulatorTokenForTheBillingBot';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new TelegramError(413, 'Request Entity Too Large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A call's parameters: the query string, then a JSON or form body over it. */
async function paramsOf(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const text = await readBody(req);
  if (!text) return params;
  if (type === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new TelegramError(400, "Bad Request: can't parse JSON object");
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new TelegramError(400, 'Bad Request: the body must be a JSON object');
    return { ...params, ...(body as Record<string, unknown>) };
  }
  if (type === 'application/x-www-form-urlencoded') return { ...params, ...Object.fromEntries(new URLSearchParams(text)) };
  throw new TelegramError(400, `Bad Request: unsupported content type ${type || '(none)'}; send JSON or a form`);
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) }).end(text);
}

const ZPay = z.object({ user_id: z.coerce.number().int().positive(), outcome: z.enum(['paid', 'cancelled', 'insufficient_stars']) });
const ZUser = z.object({
  stars: z.number().int().min(0).optional(),
  blocked: z.boolean().optional(),
  first_name: z.string().min(1).max(64).optional(),
  username: z.string().min(1).max(32).optional(),
  language_code: z.string().min(2).max(10).optional(),
});
const ZAdvance = z.object({ seconds: z.number().int().positive() });
const ZFault = z.object({
  method: z.string().optional(),
  error_code: z.number().int().min(400).max(599),
  description: z.string().optional(),
  retry_after: z.number().int().positive().optional(),
  count: z.number().int().positive().default(1),
});

/** The control API: what people do in Telegram, and what tests need to see and arrange. */
async function control(state: TelegramState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname.slice('/_telegram'.length);
  let body: unknown = {};
  if (req.method === 'POST') {
    const text = await readBody(req);
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      throw new TelegramError(400, "Bad Request: can't parse JSON object");
    }
  }
  const parse = <T extends z.ZodType>(schema: T): z.infer<T> => {
    const parsed = schema.safeParse(body);
    if (!parsed.success)
      throw new TelegramError(400, `Bad Request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return parsed.data;
  };
  const invoice = path.match(/^\/invoices\/([A-Za-z0-9_-]+)\/pay$/);
  if (req.method === 'POST' && invoice) {
    const { user_id, outcome } = parse(ZPay);
    return send(res, 200, await state.pay(invoice[1] as string, user_id, outcome as PayOutcome));
  }
  const user = path.match(/^\/users\/(\d+)$/);
  if (user) {
    const person = state.person(Number(user[1]));
    if (req.method === 'POST') {
      const { stars, blocked, ...profile } = parse(ZUser);
      if (stars !== undefined) person.stars = stars;
      if (blocked !== undefined) person.blocked = blocked;
      Object.assign(person.user, profile);
    }
    return send(res, 200, person);
  }
  if (req.method === 'POST' && path === '/clock/advance') {
    state.advance(parse(ZAdvance).seconds);
    return send(res, 200, { now: state.now() });
  }
  if (req.method === 'GET' && path === '/clock') return send(res, 200, { now: state.now() });
  const cancel = path.match(/^\/subscriptions\/([A-Za-z0-9_-]+)\/cancel$/);
  if (req.method === 'POST' && cancel) {
    const sub = state.subscriptionOf(cancel[1] as string);
    if (!sub) throw new TelegramError(404, 'Not Found: subscription not found');
    sub.canceledByUser = true;
    return send(res, 200, sub);
  }
  if (req.method === 'GET' && path === '/subscriptions') return send(res, 200, { subscriptions: [...state.subscriptions.values()] });
  if (req.method === 'GET' && path === '/messages') {
    const chat = url.searchParams.get('chat_id');
    return send(res, 200, { messages: chat ? state.messages.filter((x) => x.chat.id === Number(chat)) : state.messages });
  }
  if (req.method === 'GET' && path === '/updates') {
    await state.delivery.idle();
    return send(res, 200, { attempts: state.delivery.attempts, pending: state.delivery.pending });
  }
  if (req.method === 'POST' && path === '/faults') {
    const f = parse(ZFault);
    state.faults.push({
      ...(f.method ? { method: f.method } : {}),
      errorCode: f.error_code,
      description:
        f.description ?? (f.error_code === 429 ? `Too Many Requests: retry after ${f.retry_after ?? 1}` : 'Internal Server Error'),
      ...(f.error_code === 429 ? { retryAfter: f.retry_after ?? 1 } : {}),
      remaining: f.count,
    });
    return send(res, 200, { ok: true });
  }
  if (req.method === 'POST' && path === '/reset') {
    state.reset();
    return send(res, 200, { ok: true });
  }
  throw new TelegramError(404, 'Not Found');
}

/** The invoice sheet in a browser: the price in Stars and the three ways a person can leave it. */
function invoicePage(state: TelegramState, slug: string, result?: string): string {
  const invoice = state.invoices.get(slug);
  if (!invoice) return '<!doctype html><title>Invoice not found</title><p>Invoice not found.</p>';
  const period = invoice.subscriptionPeriod ? ' / month' : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(invoice.title)}</title></head>
<body style="font-family:system-ui;max-width:28rem;margin:2rem auto">
<h1>${escapeHtml(invoice.title)}</h1><p>${escapeHtml(invoice.description)}</p>
<p><strong>⭐ ${invoice.amount}${period}</strong></p>
${result ? `<p role="status">${escapeHtml(result)}</p>` : ''}
<form method="post" action="/invoice/${slug}/pay">
<label>Telegram user id <input name="user_id" inputmode="numeric" required></label>
<button name="outcome" value="paid">Pay ⭐ ${invoice.amount}</button>
<button name="outcome" value="cancelled">Cancel</button>
</form></body></html>`;
}

/**
 * A local, stateful Telegram Bot API for one bot: `…/bot<token>/<method>` with JSON or form
 * parameters, `{ok, result}` or `{ok:false, error_code, description, parameters}`; updates pushed
 * to the bot's webhook; Stars invoices, payments, 30-day subscriptions on a movable clock,
 * refunds; and a control API under `/_telegram` for what people do in Telegram.
 */
export async function startTelegramEmulator(options: EmulatorOptions = {}): Promise<RunningTelegramEmulator> {
  const token = options.token ?? DEFAULT_TOKEN;
  const state = new TelegramState({ ...options, token });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const handle = async () => {
      const bot = url.pathname.match(/^\/bot([^/]+)\/([A-Za-z]+)$/);
      if (bot) {
        if (bot[1] !== token) throw new TelegramError(401, 'Unauthorized');
        const result = callMethod(state, bot[2] as string, await paramsOf(req, url));
        return send(res, 200, { ok: true, result });
      }
      if (url.pathname.startsWith('/_telegram/')) return control(state, req, res, url);
      const page = url.pathname.match(/^\/invoice\/([A-Za-z0-9_-]+)(\/pay)?$/);
      if (page && req.method === 'GET' && !page[2])
        return send(res, 200, invoicePage(state, page[1] as string), 'text/html; charset=utf-8');
      if (page && req.method === 'POST' && page[2]) {
        const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
        const parsed = ZPay.safeParse(form);
        const result = parsed.success
          ? await state.pay(page[1] as string, parsed.data.user_id, parsed.data.outcome)
          : { status: 'failed', reason: 'a Telegram user id is needed' };
        return send(
          res,
          200,
          invoicePage(
            state,
            page[1] as string,
            `Payment ${result.status}${'reason' in result && result.reason ? `: ${result.reason}` : ''}`,
          ),
          'text/html; charset=utf-8',
        );
      }
      throw new TelegramError(404, 'Not Found');
    };
    handle().catch((err: unknown) => {
      const e = err instanceof TelegramError ? err : new TelegramError(500, 'Internal Server Error');
      if (!res.headersSent) send(res, e.errorCode, e.toJSON());
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  return {
    url,
    port,
    apiRoot: url,
    token,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        state.delivery.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
