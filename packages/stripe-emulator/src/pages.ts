import type { Charge, CheckoutSession, Invoice, PortalSession, Price, Subscription } from './objects.ts';
import { formatMoney } from './state.ts';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const day = (unix: number) =>
  new Date(unix * 1000).toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
  :root { color-scheme: light dark; --bg:#f6f8fa; --card:#fff; --fg:#1a1f36; --muted:#697386; --accent:#635bff; --danger:#df1b41; --line:#e3e8ee; }
  @media (prefers-color-scheme: dark) { :root { --bg:#0f1320; --card:#1a1f36; --fg:#f6f8fa; --muted:#a3acb9; --line:#2a3350; } }
  * { box-sizing: border-box; }
  body { margin:0; font:16px/1.5 system-ui, -apple-system, Segoe UI, Roboto, sans-serif; background:var(--bg); color:var(--fg); }
  main { max-width:480px; margin:0 auto; padding:24px 16px; }
  .badge { display:inline-block; font-size:12px; padding:2px 8px; border-radius:999px; background:#fff4d6; color:#8a5a00; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:20px; margin:16px 0; }
  h1 { font-size:20px; margin:0 0 4px; } h2 { font-size:16px; margin:0 0 8px; }
  .amount { font-size:32px; font-weight:700; margin:8px 0; }
  .muted { color:var(--muted); font-size:14px; }
  button, .button { display:block; width:100%; border:0; border-radius:8px; padding:12px; font-size:16px; font-weight:600;
    background:var(--accent); color:#fff; cursor:pointer; text-align:center; text-decoration:none; margin-top:12px; }
  .secondary { background:transparent; color:var(--accent); border:1px solid var(--line); }
  .danger { background:var(--danger); }
  .error { color:var(--danger); font-weight:600; }
  label { display:block; font-size:14px; color:var(--muted); margin-top:12px; }
  input, select { width:100%; padding:10px; border-radius:8px; border:1px solid var(--line); font-size:16px; background:var(--card); color:var(--fg); }
  table { width:100%; border-collapse:collapse; font-size:14px; } td { padding:6px 0; border-top:1px solid var(--line); }
</style></head>
<body><main><span class="badge">Test mode · Stripe emulator</span>${body}</main></body></html>`;
}

export function checkoutPage(
  session: CheckoutSession,
  lines: Array<{ price: Price; productName: string; quantity: number }>,
  error?: string,
): string {
  const first = lines[0];
  const interval = first?.price.recurring?.interval ?? 'month';
  const items = lines
    .map(
      (l) =>
        `<tr><td>${esc(l.productName)} × ${l.quantity}</td><td style="text-align:right">${formatMoney(l.price.unit_amount * l.quantity, l.price.currency)}</td></tr>`,
    )
    .join('');
  const closed = session.status !== 'open';
  return layout(
    `Subscribe to ${first?.productName ?? 'plan'}`,
    `<div class="card">
      <h1>Subscribe to ${esc(first?.productName ?? 'plan')}</h1>
      <div class="amount">${formatMoney(session.amount_total, session.currency)} <span class="muted">per ${esc(interval)}</span></div>
      <table>${items}</table>
    </div>
    ${
      closed
        ? `<div class="card"><p class="error">This checkout session is ${esc(session.status)}.</p></div>`
        : `<form class="card" method="post" action="/checkout/${esc(session.id)}/pay">
      <h2>Pay with card</h2>
      ${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
      <label for="email">Email</label><input id="email" name="email" type="email" value="${esc(session.customer_email ?? session.customer_details?.email ?? '')}" autocomplete="email">
      <label for="card">Card number</label><input id="card" name="card" inputmode="numeric" value="4242 4242 4242 4242" aria-describedby="card-help">
      <p id="card-help" class="muted">Test card. Use 4000 0000 0000 0002 to simulate a decline.</p>
      ${
        session.allow_promotion_codes
          ? `<label for="promotion_code">Promotion code</label><input id="promotion_code" name="promotion_code" autocomplete="off">`
          : ''
      }
      <button type="submit">Pay ${formatMoney(session.amount_total, session.currency)}</button>
    </form>`
    }
    ${session.cancel_url && !closed ? `<a class="button secondary" href="${esc(session.cancel_url)}">Cancel</a>` : ''}`,
  );
}

export function portalPage(
  session: PortalSession,
  subs: Array<{ sub: Subscription; productName: string }>,
  prices: Array<{ price: Price; productName: string }>,
  invoices: Invoice[],
  notice?: string,
): string {
  const subCards = subs.length
    ? subs
        .map(({ sub, productName }) => {
          const item = sub.items.data[0];
          const end = item?.current_period_end ?? sub.start_date;
          const price = item?.price;
          const options = prices
            .filter((p) => p.price.id !== price?.id)
            .map(
              (p) =>
                `<option value="${esc(p.price.id)}">${esc(p.productName)} — ${formatMoney(p.price.unit_amount, p.price.currency)}/${esc(p.price.recurring?.interval ?? 'month')}</option>`,
            )
            .join('');
          return `<div class="card">
        <h2>Current plan</h2>
        <div class="amount">${esc(productName)}</div>
        <p class="muted">${price ? `${formatMoney(price.unit_amount, price.currency)} per ${esc(price.recurring?.interval ?? 'month')} · ` : ''}status ${esc(sub.status)}</p>
        <p>${sub.cancel_at_period_end ? `Your plan will be canceled on ${day(end)}.` : `Renews on ${day(end)}.`}</p>
        ${
          sub.cancel_at_period_end
            ? `<form method="post" action="/portal/${esc(session.id)}/subscriptions/${esc(sub.id)}/resume"><button type="submit">Renew plan</button></form>`
            : `<form method="post" action="/portal/${esc(session.id)}/subscriptions/${esc(sub.id)}/cancel"><button class="danger" type="submit">Cancel plan</button></form>`
        }
        ${
          options
            ? `<form method="post" action="/portal/${esc(session.id)}/subscriptions/${esc(sub.id)}/update">
          <label for="price-${esc(sub.id)}">Change plan</label><select id="price-${esc(sub.id)}" name="price">${options}</select>
          <button class="secondary" type="submit">Update plan</button></form>`
            : ''
        }
      </div>`;
        })
        .join('')
    : '<div class="card"><h2>Current plan</h2><p class="muted">No active subscription.</p></div>';
  const rows = invoices
    .map(
      (inv) =>
        `<tr><td>${day(inv.created)}</td><td>${formatMoney(inv.total, inv.currency)}</td><td>${esc(inv.status)}</td><td><a href="${esc(inv.invoice_pdf ?? '#')}">PDF</a></td></tr>`,
    )
    .join('');
  return layout(
    'Billing portal',
    `<h1 style="margin-top:16px">Manage billing</h1>
    ${notice ? `<p role="status">${esc(notice)}</p>` : ''}
    ${subCards}
    <div class="card"><h2>Payment method</h2><p class="muted">Visa •••• 4242</p></div>
    <div class="card"><h2>Invoice history</h2>${rows ? `<table>${rows}</table>` : '<p class="muted">No invoices yet.</p>'}</div>
    ${session.return_url ? `<a class="button secondary" href="${esc(session.return_url)}">Return to app</a>` : ''}`,
  );
}

export function invoicePage(invoice: Invoice): string {
  const rows = invoice.lines.data
    .map((l) => `<tr><td>${esc(l.description)}</td><td style="text-align:right">${formatMoney(l.amount, l.currency)}</td></tr>`)
    .join('');
  return layout(
    `Invoice ${invoice.number ?? invoice.id}`,
    `<div class="card"><h1>Invoice ${esc(invoice.number ?? invoice.id)}</h1>
    <div class="amount">${formatMoney(invoice.total, invoice.currency)}</div>
    <p class="muted">Status: ${esc(invoice.status)} · issued ${day(invoice.created)}</p>
    <table>${rows}</table>
    <a class="button" href="${esc(invoice.invoice_pdf ?? '#')}">Download PDF</a></div>`,
  );
}

/** Stripe's receipt for a charge: what was paid, when, with which card, for which invoice. */
export function receiptPage(invoice: Invoice, charge: Charge): string {
  const card = charge.payment_method_details?.card;
  return layout(
    `Receipt for ${invoice.number ?? invoice.id}`,
    `<div class="card"><h1>Receipt</h1>
    <div class="amount">${formatMoney(charge.amount, charge.currency)}</div>
    <p class="muted">Paid ${day(charge.created)}${card ? ` · ${esc(card.brand)} •••• ${esc(card.last4)}` : ''}</p>
    <p>Invoice ${esc(invoice.number ?? invoice.id)}</p>
    <a class="button" href="${esc(invoice.invoice_pdf ?? '#')}">Download invoice PDF</a></div>`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<div class="card"><h1>${esc(title)}</h1><p>${esc(message)}</p></div>`);
}
