import type { Invoice } from '@miniapp-billing/client';
import { day, money } from '../format.ts';
import { telegram } from '../telegram.ts';
import { Badge, type Tone } from './ui.tsx';

const BADGE: Record<Invoice['status'], { label: string; tone: Tone }> = {
  paid: { label: 'Paid', tone: 'success' },
  open: { label: 'Open', tone: 'info' },
  past_due: { label: 'Past due', tone: 'danger' },
  draft: { label: 'Draft', tone: 'neutral' },
  canceled: { label: 'Canceled', tone: 'neutral' },
  uncollectible: { label: 'Uncollectible', tone: 'warning' },
};

/**
 * The payment history. Each row is one tap target (the invoice's PDF, else its page at Stripe),
 * saying when, what for, the invoice number, how much and where it stands.
 */
export function Invoices({ invoices }: { invoices: Invoice[] }) {
  if (invoices.length === 0) {
    return <p className="muted empty">No invoices yet. They appear here after your first payment.</p>;
  }
  return (
    <ul className="invoices">
      {invoices.map((inv) => {
        const badge = BADGE[inv.status];
        const amount = inv.status === 'paid' ? inv.amount_paid : inv.amount_due;
        const what = inv.description ?? 'Invoice';
        const target = inv.pdf_url ?? inv.hosted_invoice_url;
        const content = (
          <>
            <div className="invoice-main">
              <span className="invoice-date">
                {day(inv.created)}
                {inv.number ? <span className="muted"> · {inv.number}</span> : null}
              </span>
              <span className="invoice-desc">{what}</span>
            </div>
            <div className="invoice-side">
              <span className="invoice-amount">{money(amount, inv.currency)}</span>
              <Badge tone={badge.tone}>{badge.label}</Badge>
              {target ? (
                <span className="invoice-open" aria-hidden="true">
                  {inv.pdf_url ? 'PDF ›' : '›'}
                </span>
              ) : null}
            </div>
          </>
        );
        return (
          <li key={inv.id}>
            {target ? (
              <a
                className="invoice invoice-link"
                href={target}
                target="_blank"
                rel="noreferrer"
                onClick={(e) => {
                  // Inside Telegram, a PDF goes through Telegram's own download sheet where it has one.
                  if (inv.pdf_url && telegram.openFile(inv.pdf_url, `invoice-${inv.number ?? inv.id}.pdf`)) e.preventDefault();
                }}
                aria-label={`${inv.pdf_url ? 'PDF of the invoice' : 'Invoice'} ${inv.number ?? ''} of ${day(inv.created)}: ${what}, ${money(amount, inv.currency)}, ${badge.label}`.replace(
                  /\s+/g,
                  ' ',
                )}
              >
                {content}
              </a>
            ) : (
              <div className="invoice">{content}</div>
            )}
          </li>
        );
      })}
    </ul>
  );
}
