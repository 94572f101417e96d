import type { Invoice } from '@miniapp-billing/client';
import { useTranslation } from 'react-i18next';
import { day, money } from '../format.ts';
import { telegram } from '../telegram.ts';
import { Badge, type Tone } from './ui.tsx';

const TONE: Record<Invoice['status'], Tone> = {
  paid: 'success',
  open: 'info',
  past_due: 'danger',
  draft: 'neutral',
  canceled: 'neutral',
  uncollectible: 'warning',
};

/**
 * The payment history. Each row is one tap target (the invoice's PDF, else its page at Stripe),
 * saying when, what for, the invoice number, how much and where it stands.
 */
export function Invoices({ invoices }: { invoices: Invoice[] }) {
  const { t } = useTranslation();
  if (invoices.length === 0) {
    return <p className="muted empty">{t('invoices.empty')}</p>;
  }
  return (
    <ul className="invoices">
      {invoices.map((inv) => {
        const badge = { tone: TONE[inv.status], label: t(`invoices.status.${inv.status}`) };
        const amount = inv.status === 'paid' ? inv.amount_paid : inv.amount_due;
        // A plan change that charged something went up; one that charged nothing left a credit.
        const kind = inv.purpose?.kind === 'update' ? (amount > 0 ? 'upgrade' : 'downgrade') : inv.purpose?.kind;
        const what = inv.purpose
          ? t(`invoices.purpose.${kind}`, {
              plan: inv.purpose.plan_name,
              period: t(`invoices.period.${['day', 'week', 'year'].includes(inv.purpose.interval) ? inv.purpose.interval : 'month'}`),
            })
          : (inv.description ?? t('invoices.invoice'));
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
                aria-label={t(inv.pdf_url ? 'invoices.pdfLabel' : 'invoices.pageLabel', {
                  number: inv.number ?? '',
                  date: day(inv.created),
                  what,
                  amount: money(amount, inv.currency),
                  status: badge.label,
                }).replace(/\s+/g, ' ')}
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
