import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { serveStats } from './child.ts';

// The baseline: raw node:http, jsonwebtoken with a KeyObject, one pg select by primary key, ~200
// bytes of JSON. The same work our endpoint does, with nothing else. `/page` is the Mini App's
// page load (subscription, plans, invoices, pending checkout) with the same nothing else.
const key = createSecretKey(Buffer.from(process.env.JWT_SECRET as string));
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });

// The plans, as a service keeps them: read once, answered from memory.
const PLANS = [
  {
    plan_id: 'premium_monthly',
    name: 'Premium',
    amount: 2900,
    currency: 'usd',
    interval: 'month',
    price_usd_monthly: 29,
    features: ['Unlimited projects', 'Priority support', 'Export to PDF'],
  },
  {
    plan_id: 'vip_monthly',
    name: 'VIP',
    amount: 9900,
    currency: 'usd',
    interval: 'month',
    price_usd_monthly: 99,
    features: ['Everything in Premium', 'Dedicated manager', 'Early access to new features'],
  },
  {
    plan_id: 'enterprise_monthly',
    name: 'Enterprise',
    amount: 29900,
    currency: 'usd',
    interval: 'month',
    price_usd_monthly: 299,
    features: ['Everything in VIP', 'SLA and invoicing', 'Single sign-on'],
  },
];

/**
 * The Mini App's page load, answered as one tRPC batch would be: the person's subscription, the
 * plans, the newest 20 invoices and their open checkout, the three queries in parallel, one JSON array.
 */
async function page(userId: string): Promise<string> {
  const [subs, invoices, open] = await Promise.all([
    pool.query(
      'select stripe_subscription_id, plan_id, status, amount, currency, interval, current_period_start, current_period_end, cancel_at_period_end from subscriptions where user_id = $1 order by stripe_created desc',
      [userId],
    ),
    pool.query(
      'select stripe_invoice_id, number, amount_paid, amount_due, currency, stripe_status, stripe_created, invoice_pdf, hosted_invoice_url, description from invoices where user_id = $1 order by stripe_created desc limit 20',
      [userId],
    ),
    pool.query(
      "select stripe_session_id, plan_id, url, expires_at from checkout_sessions where user_id = $1 and status = 'open' and expires_at > now() order by created_at desc limit 1",
      [userId],
    ),
  ]);
  const session = open.rows[0];
  const pending = session
    ? { session_id: session.stripe_session_id, plan_id: session.plan_id, url: session.url, expires_at: session.expires_at.toISOString() }
    : null;
  const sub = subs.rows[0];
  const subscription = sub
    ? {
        tier: sub.plan_id,
        status: sub.status,
        plan_name: 'Premium',
        current_period_start: sub.current_period_start?.toISOString() ?? null,
        current_period_end: sub.current_period_end?.toISOString() ?? null,
        cancel_at_period_end: sub.cancel_at_period_end,
        cancel_at: null,
        price_usd_monthly: Math.round(sub.amount / 100),
        amount: sub.amount,
        currency: sub.currency,
        interval: sub.interval,
        has_access: true,
        access_until: sub.current_period_end?.toISOString() ?? null,
        subscription_id: sub.stripe_subscription_id,
      }
    : { tier: 'free', status: 'inactive' };
  const history = invoices.rows.map((r) => ({
    id: r.stripe_invoice_id,
    number: r.number,
    amount_paid: r.amount_paid,
    amount_due: r.amount_due,
    currency: r.currency,
    status: r.stripe_status,
    stripe_status: r.stripe_status,
    created: Number(r.stripe_created),
    pdf_url: r.invoice_pdf,
    hosted_invoice_url: r.hosted_invoice_url,
    description: r.description,
  }));
  return JSON.stringify([
    { result: { data: subscription } },
    { result: { data: PLANS } },
    { result: { data: history } },
    { result: { data: pending } },
  ]);
}

const server = createServer(async (req, res) => {
  try {
    const token = (req.headers.authorization ?? '').slice(7);
    const claims = jwt.verify(token, key, { algorithms: ['HS256'], issuer: 'miniapp-billing', audience: 'miniapp-billing' }) as {
      sub: string;
    };
    if (req.url === '/page') {
      const body = await page(claims.sub);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    const { rows } = await pool.query('select id, name, email, telegram_id, created_at from users where id = $1', [claims.sub]);
    const user = rows[0];
    if (!user) {
      res.writeHead(401).end();
      return;
    }
    const body = JSON.stringify({
      tier: 'free',
      status: 'inactive',
      user_id: user.id,
      name: user.name,
      email: user.email,
      telegram_id: user.telegram_id,
      since: user.created_at,
      current_period_end: null,
      price_usd_monthly: 0,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  } catch {
    res.writeHead(401).end();
  }
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port }));
serveStats();
