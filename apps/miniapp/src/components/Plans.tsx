import type { Plan, PlanChangePreview, Subscription } from '@miniapp-billing/client';
import { lazy, Suspense, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { money, perInterval, stars } from '../format.ts';
import { telegram } from '../telegram.ts';

// Only someone changing plan needs the question: its own small chunk.
const PlanChangeConfirm = lazy(() => import('./PlanChangeConfirm.tsx').then((m) => ({ default: m.PlanChangeConfirm })));

interface Props {
  plans: Plan[];
  subscription: Subscription;
  busyPlan: string | null;
  onUpgrade: (planId: string) => void;
  /** Moves the subscription, charged as the preview priced it (its proration date). */
  onSwitch: (planId: string, prorationDate: number) => void;
  /** Stripe's invoice preview of a plan change, shown in its confirmation. */
  loadPreview: (planId: string) => Promise<PlanChangePreview>;
  /** Inside Telegram with the Stars rail on: pay a plan sold in Stars through Telegram's invoice sheet. */
  onStars?: ((planId: string) => void) | undefined;
  /** Whether the card (Stripe) is offered beside Stars. */
  card?: boolean;
  /** A checkout is pending: no other purchase starts until it is resumed or cancelled. */
  locked?: boolean;
}

/** Monthly or yearly billing, when the catalog sells both. */
type Billing = 'month' | 'year';

/**
 * Every plan on sale for the billing period chosen (monthly or yearly, when both are sold; the
 * current plan is always shown), with Upgrade (on free), or Upgrade or Downgrade by price (with a live subscription).
 */
export function Plans({ plans, subscription, busyPlan, onUpgrade, onSwitch, loadPreview, onStars, card = true, locked = false }: Props) {
  const blocked = busyPlan !== null || locked;
  const { t } = useTranslation();
  const [confirming, setConfirming] = useState<string | null>(null);
  // Focus goes back to the button that opened a confirmation when it closes.
  const openers = useRef(new Map<string, HTMLButtonElement | null>());
  const closeConfirm = (planId: string) => {
    setConfirming(null);
    requestAnimationFrame(() => openers.current.get(planId)?.focus());
  };
  const both = plans.some((p) => p.interval === 'year') && plans.some((p) => p.interval === 'month');
  const [billing, setBilling] = useState<Billing>(subscription.interval === 'year' ? 'year' : 'month');
  const subscribed = subscription.tier !== 'free' && ['active', 'trialing', 'past_due'].includes(subscription.status);
  // A Stars subscription keeps its price for its life: another plan is bought after it ends.
  const onStarsRail = subscribed && subscription.rail === 'telegram_stars';
  // Up or down by what it costs a month, against the current plan's price.
  const isUpgrade = (plan: Plan) => plan.price_usd_monthly >= subscription.price_usd_monthly;
  const verb = (plan: Plan) => (isUpgrade(plan) ? 'Upgrade' : 'Downgrade');
  const actionLabel = (plan: Plan) =>
    !subscribed || isUpgrade(plan) ? t('plans.upgradeTo', { plan: plan.name }) : t('plans.downgradeTo', { plan: plan.name });
  const shown = both ? plans.filter((p) => p.interval === billing || p.plan_id === subscription.tier) : plans;
  return (
    <>
      {both ? (
        <fieldset className="billing-switch">
          <legend className="sr-only">{t('plans.billingPeriod')}</legend>
          {(['month', 'year'] as const).map((b) => (
            <button
              key={b}
              type="button"
              className="segment"
              aria-pressed={billing === b}
              onClick={() => {
                if (billing !== b) telegram.haptic('selection');
                setBilling(b);
              }}
            >
              {b === 'month' ? t('plans.monthly') : t('plans.yearly')}
            </button>
          ))}
        </fieldset>
      ) : null}
      <ul className="plans">
        {shown.map((plan) => {
          const current = subscription.tier === plan.plan_id && subscription.status !== 'canceled';
          const headingId = `plan-${plan.plan_id}`;
          return (
            <li
              key={plan.plan_id}
              className={`plan ${current ? 'plan-current' : ''} ${plan.highlighted ? 'plan-highlighted' : ''}`}
              aria-labelledby={headingId}
            >
              {plan.highlighted ? <p className="badge-recommended">{t('plans.recommended')}</p> : null}
              <div className="plan-line">
                <h3 id={headingId}>{plan.name}</h3>
                <span className="price">
                  {money(plan.amount, plan.currency)}
                  <span className="muted"> / {perInterval(plan.interval)}</span>
                </span>
              </div>
              {onStars && plan.stars_price !== null ? (
                <p className="stars-price">{t('plans.orStars', { stars: stars(plan.stars_price) })}</p>
              ) : null}
              {plan.trial_days && !subscribed ? <p className="trial">{t('plans.trial', { count: plan.trial_days })}</p> : null}
              <ul className="features">
                {plan.features.map((f) => (
                  <li key={f}>{f}</li>
                ))}
              </ul>
              {current ? (
                <p className="current-label">{t('plans.current')}</p>
              ) : confirming === plan.plan_id ? (
                <Suspense fallback={<p className="muted">{t('change.working')}</p>}>
                  <PlanChangeConfirm
                    plan={plan}
                    verb={verb(plan)}
                    loadPreview={loadPreview}
                    busy={busyPlan !== null}
                    onClose={() => closeConfirm(plan.plan_id)}
                    onConfirm={(prorationDate) => {
                      setConfirming(null);
                      onSwitch(plan.plan_id, prorationDate);
                    }}
                  />
                </Suspense>
              ) : onStarsRail ? (
                <p className="muted">{t('plans.starsRail')}</p>
              ) : !subscribed && onStars && plan.stars_price !== null ? (
                <div className="row">
                  <button
                    type="button"
                    className="button"
                    aria-label={t('plans.subscribeStarsLabel', { plan: plan.name, count: plan.stars_price })}
                    disabled={blocked}
                    onClick={() => onStars(plan.plan_id)}
                  >
                    {busyPlan === plan.plan_id ? t('common.opening') : t('plans.subscribeStars', { stars: stars(plan.stars_price) })}
                  </button>
                  {card ? (
                    <button
                      type="button"
                      className="button secondary"
                      aria-label={t('plans.payByCardLabel', { plan: plan.name })}
                      disabled={blocked}
                      onClick={() => onUpgrade(plan.plan_id)}
                    >
                      {t('plans.payByCard')}
                    </button>
                  ) : null}
                </div>
              ) : (
                <button
                  ref={(el) => {
                    openers.current.set(plan.plan_id, el);
                  }}
                  type="button"
                  className="button"
                  aria-label={actionLabel(plan)}
                  disabled={blocked}
                  onClick={() => (subscribed ? setConfirming(plan.plan_id) : onUpgrade(plan.plan_id))}
                >
                  {busyPlan === plan.plan_id
                    ? t('common.opening')
                    : !subscribed || isUpgrade(plan)
                      ? t('plans.upgrade')
                      : t('plans.downgrade')}
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </>
  );
}
