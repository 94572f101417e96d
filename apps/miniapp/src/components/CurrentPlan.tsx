import type { Subscription } from '@miniapp-billing/client';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { day, money, perInterval } from '../format.ts';
import { t as translate } from '../i18n.ts';
import { Badge, Emphasis, type Tone } from './ui.tsx';

const TONE: Record<Subscription['status'], Tone> = {
  active: 'success',
  trialing: 'info',
  past_due: 'danger',
  incomplete: 'warning',
  unpaid: 'danger',
  canceled: 'neutral',
  paused: 'neutral',
  inactive: 'neutral',
};

export function statusLabel(status: Subscription['status']): string {
  return translate(`status.${status}`);
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
  const { t } = useTranslation();
  const s = subscription;
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
          {free ? t('current.free') : s.plan_name}
        </span>
        {/* On Free the name says it all: no second "Free" beside it. */}
        {free ? null : <Badge tone={TONE[s.status]}>{statusLabel(s.status)}</Badge>}
      </div>
      {free ? (
        <p className="muted">{t('current.freeText')}</p>
      ) : (
        <>
          <p className="price">
            {money(s.amount, s.currency)} <span className="muted">/ {perInterval(s.interval)}</span>
          </p>
          {s.status === 'past_due' ? (
            <div className="warning" role="alert">
              <p>
                {t('current.pastDue')}{' '}
                {s.has_access && s.access_until ? t('current.keepAccessUntil', { date: day(s.access_until) }) : t('current.paused')}{' '}
                {t('current.updateMethod')}
              </p>
              <button type="button" className="button danger" onClick={onFixPayment}>
                {t('current.fixPayment')}
              </button>
            </div>
          ) : s.cancel_at_period_end ? (
            <>
              <p>
                <Emphasis k="current.cancelsOn" values={{ date: until }} />
              </p>
              {onResume ? (
                <button type="button" className="button secondary" disabled={busy} onClick={onResume}>
                  {busy ? t('current.resuming') : t('current.resume')}
                </button>
              ) : null}
            </>
          ) : s.current_period_end ? (
            <p>
              <Emphasis
                k={s.status === 'trialing' ? 'current.trialEnds' : 'current.renewsOn'}
                values={{ date: day(s.current_period_end) }}
              />
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
                  <Emphasis k="current.cancelQuestion" values={{ plan: s.plan_name, date: until }} />
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
                    {t('current.cancelPlan')}
                  </button>
                  <button type="button" className="button secondary" onClick={closeConfirm}>
                    {t('current.keepPlan')}
                  </button>
                </div>
              </fieldset>
            ) : (
              <button ref={cancelRef} type="button" className="button secondary" disabled={busy} onClick={() => setConfirming(true)}>
                {busy ? t('current.cancelling') : t('current.cancelPlan')}
              </button>
            )
          ) : null}
        </>
      )}
    </div>
  );
}
