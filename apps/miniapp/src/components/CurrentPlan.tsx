import type { Subscription } from '@miniapp-billing/client';
import { day, money, perInterval } from '../format.ts';
import { Badge, type Tone } from './ui.tsx';

const STATUS: Record<Subscription['status'], { label: string; tone: Tone }> = {
  active: { label: 'Active', tone: 'success' },
  trialing: { label: 'Trial', tone: 'info' },
  past_due: { label: 'Past due', tone: 'danger' },
  incomplete: { label: 'Payment needed', tone: 'warning' },
  unpaid: { label: 'Unpaid', tone: 'danger' },
  canceled: { label: 'Canceled', tone: 'neutral' },
  paused: { label: 'Paused', tone: 'neutral' },
  inactive: { label: 'Free', tone: 'neutral' },
};

export function statusLabel(status: Subscription['status']): string {
  return STATUS[status].label;
}

/** The plan at a glance: name, status, price, and what happens next. */
export function CurrentPlan({ subscription, onFixPayment }: { subscription: Subscription; onFixPayment: () => void }) {
  const s = subscription;
  const status = STATUS[s.status];
  const free = s.tier === 'free';
  return (
    <div className="current-plan">
      <div className="plan-line">
        <span className="plan-name" data-testid="current-plan-name">
          {free ? 'Free' : s.plan_name}
        </span>
        <Badge tone={status.tone}>{status.label}</Badge>
      </div>
      {free ? (
        <p className="muted">You are on the free plan. Upgrade to unlock paid features.</p>
      ) : (
        <>
          <p className="price">
            {money(s.amount, s.currency)} <span className="muted">/ {perInterval(s.interval)}</span>
          </p>
          {s.status === 'past_due' ? (
            <div className="warning" role="alert">
              <p>
                Your last payment failed.{' '}
                {s.has_access && s.access_until ? `You keep access until ${day(s.access_until)}.` : 'Paid features are paused.'} Update your
                payment method to continue.
              </p>
              <button type="button" className="button danger" onClick={onFixPayment}>
                Fix payment
              </button>
            </div>
          ) : s.status === 'incomplete' ? (
            <div className="warning" role="alert">
              <p>Your first payment did not go through. Update your payment method to start the plan.</p>
              <button type="button" className="button danger" onClick={onFixPayment}>
                Fix payment
              </button>
            </div>
          ) : s.cancel_at_period_end ? (
            <p>
              Cancels on <strong>{day(s.cancel_at ?? s.current_period_end)}</strong>. You keep access until then.
            </p>
          ) : s.current_period_end ? (
            <p>
              Renews on <strong>{day(s.current_period_end)}</strong>
            </p>
          ) : null}
        </>
      )}
    </div>
  );
}
