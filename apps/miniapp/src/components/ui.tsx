import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

export type Tone = 'success' | 'warning' | 'danger' | 'neutral' | 'info';

export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function Skeleton({ lines = 3, label }: { lines?: number; label: string }) {
  return (
    <div className="skeleton" role="status" aria-live="polite" aria-label={label}>
      {Array.from({ length: lines }, (_, i) => (
        <div key={i} className="skeleton-line" style={{ width: `${90 - i * 18}%` }} />
      ))}
    </div>
  );
}

export function ErrorState({ message, onRetry }: { message: string; onRetry: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="error-state" role="alert">
      <p>{message}</p>
      <button type="button" className="button secondary" onClick={onRetry}>
        {t('common.retry')}
      </button>
    </div>
  );
}

export function Card({ title, id, children, actions }: { title: string; id: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card" aria-labelledby={id}>
      <div className="card-header">
        <h2 id={id}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

/**
 * Words whose `<b>…</b>` part is what matters (a date, a plan): that part in bold. Values are
 * interpolated as text first, so nothing in them is ever read as markup.
 */
export function Emphasis({ k, values }: { k: string; values: Record<string, string> }) {
  const { t } = useTranslation();
  const parts = t(k, values).split(/<b>(.*?)<\/b>/);
  return <>{parts.map((part, i) => (i % 2 === 1 ? <strong key={`${i}-${part}`}>{part}</strong> : part))}</>;
}
