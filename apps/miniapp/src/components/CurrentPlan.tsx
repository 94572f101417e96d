import type { Subscription } from '@miniapp-billing/client';
import { useEffect, useRef, useState } from 'react';
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

interface Props {
  subscription: Subscription;
  onFixPayment: () => void;
  /** Cancel at period end, after a confirmation; absent where the plan cannot be cancelled here. */
  onCancel?: (() => void) | undefined;
  /** Undo a pending cancellation. */
  onResume?: (() => void) | undefined;
  /** A cancel or resume is on its way. */
  busy?: boolean;
}

/** The plan at a glance: name, status, price, what happens next, and Cancel or Resume. */
export function CurrentPlan({ subscription, onFixPayment, onCancel, onResume, busy = false }: Props) {
  const s = subscription;
  const status = STATUS[s.status];
  const free = s.tier === 'free';
  const [confirming, setConfirming] = useState(false);
  const confirmRef = useRef<HTMLFieldSetElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  // Focus moves into the confirmation, and back to the button that opened it.
  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
  }, [confirming]);
  const closeConfirm = () => {
    setConfirming(false);
    requestAnimationFrame(() => cancelRef.current?.focus());
  };
  const cancellable = !free && (s.status === 'active' || s.status === 'trialing') && !s.cancel_at_period_end;
  const until = day(s.cancel_at ?? s.current_period_end);
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
          ) : s.cancel_at_period_end ? (
            <>
              <p>
                Cancels on <strong>{until}</strong>. You keep access until then.
              </p>
              {onResume ? (
                <button type="button" className="button secondary" disabled={busy} onClick={onResume}>
                  {busy ? 'Resuming…' : 'Resume plan'}
                </button>
              ) : null}
            </>
          ) : s.current_period_end ? (
            <p>
              {s.status === 'trialing' ? 'Trial ends' : 'Renews'} on <strong>{day(s.current_period_end)}</strong>
            </p>
          ) : null}
          {cancellable && onCancel ? (
            confirming ? (
              <fieldset
                ref={confirmRef}
                className="confirm-box"
                aria-labelledby="cancel-question"
                tabIndex={-1}
                onKeyDown={(e) => e.key === 'Escape' && closeConfirm()}
              >
                <p id="cancel-question">
                  Cancel {s.plan_name}? You keep it until <strong>{until}</strong>, then move to Free. Nothing more is charged.
                </p>
                <div className="row">
                  <button
                    type="button"
                    className="button danger"
                    disabled={busy}
                    onClick={() => {
                      setConfirming(false);
                      onCancel();
                    }}
                  >
                    Cancel plan
                  </button>
                  <button type="button" className="button secondary" onClick={closeConfirm}>
                    Keep plan
                  </button>
                </div>
              </fieldset>
            ) : (
              <button ref={cancelRef} type="button" className="button secondary" disabled={busy} onClick={() => setConfirming(true)}>
                {busy ? 'Cancelling…' : 'Cancel plan'}
              </button>
            )
          ) : null}
        </>
      )}
    </div>
  );
}
