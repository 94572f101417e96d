import type { Plan, PlanChangePreview } from '@miniapp-billing/client';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { day, money, perInterval, pricePer } from '../format.ts';
import { errorText } from '../i18n.ts';

interface Props {
  plan: Plan;
  /** As the button that opened it says: by price against the current plan. */
  verb: 'Upgrade' | 'Downgrade';
  /** Stripe's invoice preview for moving to this plan. */
  loadPreview: (planId: string) => Promise<PlanChangePreview>;
  busy: boolean;
  onConfirm: (prorationDate: number) => void;
  onClose: () => void;
}

type State = { kind: 'loading' } | { kind: 'ready'; preview: PlanChangePreview } | { kind: 'failed'; message: string };

/**
 * The plan-change question with the amounts Stripe will charge: now, and from the next renewal.
 * Confirming sends the preview's proration date, so the charge is exactly the amount shown.
 * Focus moves into the question when it opens; Escape or "Keep current plan" closes it.
 */
export function PlanChangeConfirm({ plan, verb, loadPreview, busy, onConfirm, onClose }: Props) {
  const { t } = useTranslation();
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const boxRef = useRef<HTMLFieldSetElement>(null);
  useEffect(() => boxRef.current?.focus(), []);
  // `attempt` is a dependency so that Retry asks Stripe again.
  useEffect(() => {
    let live = true;
    setState({ kind: 'loading' });
    loadPreview(plan.plan_id).then(
      (preview) => live && setState({ kind: 'ready', preview }),
      (err: unknown) => live && setState({ kind: 'failed', message: errorText(err) }),
    );
    return () => {
      live = false;
    };
  }, [plan.plan_id, loadPreview, attempt]);

  const questionId = `confirm-${plan.plan_id}`;
  const p = state.kind === 'ready' ? state.preview : null;
  return (
    <fieldset
      ref={boxRef}
      className="confirm-box"
      aria-labelledby={questionId}
      aria-busy={state.kind === 'loading'}
      tabIndex={-1}
      onKeyDown={(e) => e.key === 'Escape' && onClose()}
    >
      <p id={questionId} className="confirm-question">
        {t(verb === 'Upgrade' ? 'change.upgradeQuestion' : 'change.downgradeQuestion', {
          plan: plan.name,
          price: pricePer(plan.amount, plan.currency, plan.interval),
        })}
      </p>
      {state.kind === 'loading' ? (
        <p className="muted" role="status">
          {t('change.working')}
        </p>
      ) : state.kind === 'failed' ? (
        <div className="notice notice-error" role="alert">
          <p>{state.message}</p>
          <button type="button" className="button secondary small" onClick={() => setAttempt((n) => n + 1)}>
            {t('common.retry')}
          </button>
        </div>
      ) : p ? (
        <dl className="amounts" data-testid="change-amounts">
          <div>
            <dt>{t('change.dueNow')}</dt>
            <dd>{money(p.amount_due_now, p.currency)}</dd>
          </div>
          {p.credit > 0 ? (
            <div>
              <dt>{t('change.credit')}</dt>
              <dd>{money(p.credit, p.currency)}</dd>
            </div>
          ) : null}
          <div>
            <dt>{p.next_date ? t('change.nextPaymentOn', { date: day(p.next_date) }) : t('change.nextPayment')}</dt>
            <dd>{money(p.next_amount_due, p.currency)}</dd>
          </div>
          {p.next_amount_due !== p.next_amount ? (
            <div>
              <dt>{t('change.thenEach', { interval: perInterval(plan.interval) })}</dt>
              <dd>{money(p.next_amount, p.currency)}</dd>
            </div>
          ) : null}
        </dl>
      ) : null}
      <div className="row">
        <button type="button" className="button" disabled={busy || !p} onClick={() => p && onConfirm(p.proration_date)}>
          {verb === 'Upgrade' ? t('change.confirmUpgrade') : t('change.confirmDowngrade')}
        </button>
        <button type="button" className="button secondary" onClick={onClose}>
          {t('change.keepCurrent')}
        </button>
      </div>
    </fieldset>
  );
}
