import type { Invoice } from '@miniapp-billing/client';
import { day, money } from '../format.ts';
import { Badge, type Tone } from './ui.tsx';

const BADGE: Record<Invoice['status'], { label: string; tone: Tone }> = {
  paid: { label: 'Paid', tone: 'success' },
  open: { label: 'Open', tone: 'info' },
  past_due: { label: 'Past due', tone: 'danger' },
  draft: { label: 'Draft', tone: 'neutral' },
  canceled: { label: 'Canceled', tone: 'neutral' },
  uncollectible: { label: 'Uncollectible', tone: 'warning' },
};

export function Invoices({ invoices }: { invoices: Invoice[] }) {
  if (invoices.length === 0) {
    return <p className="muted empty">No invoices yet. They appear here after your first payment.</p>;
  }
  return (
    <ul className="invoices">
      {invoices.map((inv) => {
        const badge = BADGE[inv.status];
        const amount = inv.status === 'paid' ? inv.amount_paid : inv.amount_due;
        return (
          <li key={inv.id} className="invoice">
            <div className="invoice-main">
              <span className="invoice-date">{day(inv.created)}</span>
              <span className="invoice-desc muted">{inv.description ?? inv.number ?? 'Invoice'}</span>
            </div>
            <div className="invoice-side">
              <span className="invoice-amount">{money(amount, inv.currency)}</span>
              <Badge tone={badge.tone}>{badge.label}</Badge>
              {inv.pdf_url ? (
                <a
                  className="link"
                  href={inv.pdf_url}
                  target="_blank"
                  rel="noreferrer"
                  aria-label={`PDF of the invoice of ${day(inv.created)}`}
                >
                  PDF
                </a>
              ) : null}
            </div>
          </li>
        );
      })}
    </ul>
  );
}
