import { billingErrorOf, type Subscription } from '@miniapp-billing/client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth.tsx';
import { CurrentPlan } from '../components/CurrentPlan.tsx';
import { Invoices } from '../components/Invoices.tsx';
import { Plans } from '../components/Plans.tsx';
import { Card, ErrorState, Skeleton } from '../components/ui.tsx';
import { day } from '../format.ts';
import { errorText } from '../i18n.ts';
import { forgetCheckout, rememberCheckout } from '../session.ts';
import { telegram } from '../telegram.ts';
import { billingKeys } from '../trpc.ts';

const newIdempotencyKey = () =>
  typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? `checkout-${crypto.randomUUID()}`
    : `checkout-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

export function BillingPage() {
  const { t } = useTranslation();
  const { client, config } = useAuth();
  const queryClient = useQueryClient();
  // A message shows next to what it is about: the current plan, or the plans (where purchases start).
  const [notice, setNotice] = useState<{ tone: 'error' | 'info'; text: string; at: 'plan' | 'plans' | 'promo' } | null>(null);
  const [waitingForPayment, setWaitingForPayment] = useState(false);
  const subscription = useQuery({
    queryKey: billingKeys.subscription,
    queryFn: ({ signal }) => client.billing.subscription.get.query(undefined, { signal }),
    refetchInterval: waitingForPayment ? 4000 : false,
  });
  const plans = useQuery({
    queryKey: billingKeys.plans,
    queryFn: ({ signal }) => client.billing.plans.list.query(undefined, { signal }),
    staleTime: 10 * 60_000,
  });
  const invoices = useQuery({
    queryKey: billingKeys.invoices,
    queryFn: ({ signal }) => client.billing.invoices.list.query({ limit: 20 }, { signal }),
  });
  // A Checkout started and not finished (the browser's Back, the app closed): resume it or cancel
  // it; no other purchase starts meanwhile.
  const pending = useQuery({
    queryKey: billingKeys.pendingCheckout,
    queryFn: ({ signal }) => client.billing.checkout.pending.query(undefined, { signal }),
  });

  const refresh = () => queryClient.invalidateQueries({ queryKey: billingKeys.all });
  useEffect(() => {
    if (!waitingForPayment || !subscription.data || subscription.data.tier === 'free') return;
    setWaitingForPayment(false);
    telegram.haptic('success');
    setNotice({ tone: 'info', text: t('current.nowOn', { plan: subscription.data.plan_name }), at: 'plan' });
    // The payment that brought the plan belongs in the history too (it may have been read before it landed).
    void queryClient.invalidateQueries({ queryKey: billingKeys.invoices });
  }, [waitingForPayment, subscription.data, queryClient, t]);

  const fail = (at: 'plan' | 'plans') => (err: unknown) => {
    telegram.haptic('error');
    setNotice({ tone: 'error', text: errorText(err), at });
  };
  // One Idempotency-Key per intent (a plan the person chose to buy), reused when the same intent is
  // retried after a lost answer, so a retry can never open a second Checkout Session.
  const intents = useRef(new Map<string, string>());
  // A checkout that waits on Stripe can be given up (Cancel) or asked again (Retry, same key).
  const inFlight = useRef<AbortController | null>(null);
  // A promotion code typed before choosing a plan: checked by the server with Stripe, applied to the first invoice.
  const [promo, setPromo] = useState('');
  const promoCode = promo.trim().toUpperCase();
  const promoValid = promoCode === '' || /^[A-Z0-9-]{1,64}$/.test(promoCode);
  const checkout = useMutation({
    // The code is part of the intent: the same plan with another code is another request.
    mutationFn: ({ plan_id, code }: { plan_id: string; code: string }) => {
      const intent = `${plan_id}:${code}`;
      let key = intents.current.get(intent);
      if (!key) {
        key = newIdempotencyKey();
        intents.current.set(intent, key);
      }
      inFlight.current?.abort();
      const controller = new AbortController();
      inFlight.current = controller;
      return client.billing.checkout.create.mutate(
        { plan_id, ...(code ? { promotion_code: code } : {}) },
        { context: { idempotencyKey: key }, signal: controller.signal },
      );
    },
    onSuccess: (res, { plan_id, code }) => {
      intents.current.delete(`${plan_id}:${code}`);
      rememberCheckout(res.session_id);
      void queryClient.invalidateQueries({ queryKey: billingKeys.pendingCheckout });
      if (telegram.inTelegram) setWaitingForPayment(true);
      telegram.openExternal(res.url);
    },
    onError: (err, { plan_id, code }) => {
      // Given up by the person: nothing to say (a Retry started another attempt with the same key).
      if (inFlight.current?.signal.aborted) return;
      // A definite answer ends the intent; a lost one (network, 5xx) keeps its key for the retry.
      const status = billingErrorOf(err).httpStatus;
      if (status > 0 && status < 500) intents.current.delete(`${plan_id}:${code}`);
      if (billingErrorOf(err).reason === 'PROMOTION_CODE_INVALID') {
        telegram.haptic('error');
        return setNotice({ tone: 'error', text: errorText(err), at: 'promo' });
      }
      fail('plans')(err);
    },
  });
  const checkoutWait = useElapsed(checkout.isPending);
  /** A card purchase: refused here, beside the code, while the promotion code cannot be one. */
  const startCheckout = (planId: string) => {
    if (!promoValid) return setNotice({ tone: 'error', text: t('plans.promoFormat'), at: 'promo' });
    checkout.mutate({ plan_id: planId, code: promoCode });
  };
  // Back from the portal, re-read the customer from Stripe at once: what the person did there
  // shows now, not when the webhooks arrive.
  const portalReturn = useMutation({
    mutationFn: () => client.billing.portal.return.mutate({}),
    onSuccess: (sub) => {
      queryClient.setQueryData(billingKeys.subscription, sub);
      void queryClient.invalidateQueries({ queryKey: billingKeys.invoices });
    },
  });
  const portalOpened = useRef(false);
  const portal = useMutation({
    mutationFn: () => client.billing.portal.create.mutate({}),
    onSuccess: (res) => {
      portalOpened.current = true;
      telegram.openExternal(res.url);
    },
    onError: fail('plan'),
  });
  const { mutate: syncFromPortal } = portalReturn;
  const returnedFromPortal = useRef(false);
  useEffect(() => {
    const url = new URL(window.location.href);
    if (returnedFromPortal.current || url.searchParams.get('portal') !== 'return') return;
    returnedFromPortal.current = true;
    url.searchParams.delete('portal');
    window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
    syncFromPortal();
  }, [syncFromPortal]);
  // Back from the external browser (Telegram): show the state Stripe left us in, re-read from
  // Stripe when the person went to the portal.
  useEffect(
    () =>
      telegram.onActivated(() => {
        if (!portalOpened.current) return void queryClient.invalidateQueries({ queryKey: billingKeys.all });
        portalOpened.current = false;
        syncFromPortal();
      }),
    [syncFromPortal, queryClient],
  );
  // Inside Telegram, plans sold in Stars are paid through Telegram's own invoice sheet.
  const starsOffered = telegram.inTelegram && (config.rails ?? []).includes('stars');
  const stars = useMutation({
    mutationFn: async ({ plan_id }: { plan_id: string }) => {
      const invoice = await client.billing.stars.invoice.mutate({ plan_id });
      return telegram.openInvoice(invoice.invoice_link);
    },
    onSuccess: (status) => {
      if (status === 'paid' || status === 'pending') {
        setNotice({
          tone: 'info',
          text: status === 'paid' ? t('current.paidInStars') : t('current.processing'),
          at: 'plan',
        });
        setWaitingForPayment(true);
        void refresh();
      } else if (status === 'failed') {
        telegram.haptic('error');
        setNotice({ tone: 'error', text: t('plans.starsFailed'), at: 'plans' });
      }
    },
    onError: fail('plans'),
  });
  // Cancel at period end, and its undo: the answer is the subscription as it now stands.
  const setSubscription = (sub: Subscription) => {
    queryClient.setQueryData(billingKeys.subscription, sub);
  };
  const cancel = useMutation({
    mutationFn: () => client.billing.subscription.cancel.mutate(),
    onSuccess: (sub) => {
      setSubscription(sub);
      setNotice({
        tone: 'info',
        text: t('current.cancelled', { plan: sub.plan_name, date: day(sub.cancel_at ?? sub.current_period_end) }),
        at: 'plan',
      });
    },
    onError: fail('plan'),
  });
  const resume = useMutation({
    mutationFn: () => client.billing.subscription.resume.mutate(),
    onSuccess: (sub) => {
      setSubscription(sub);
      setNotice({ tone: 'info', text: t('current.resumed', { plan: sub.plan_name }), at: 'plan' });
    },
    onError: fail('plan'),
  });
  // "Payment method & billing" only for someone with a Stripe customer: a card subscription or a card invoice.
  const hasCardBilling = subscription.data?.rail === 'stripe' || (invoices.data ?? []).some((i) => i.currency.toUpperCase() !== 'XTR');
  const fixPayment = () => {
    const url = subscription.data?.payment_url;
    if (url) telegram.openExternal(url);
    else portal.mutate();
  };
  // Asked afresh each time a confirmation opens: the amount depends on the moment.
  const loadPreview = useCallback((planId: string) => client.billing.subscription.preview.query({ plan_id: planId }), [client]);
  const change = useMutation({
    mutationFn: (input: { plan_id: string; proration_date: number }) => client.billing.subscription.change.mutate(input),
    onSuccess: (sub) => {
      setNotice({ tone: 'info', text: t('current.nowOn', { plan: sub.plan_name }), at: 'plan' });
      void refresh();
    },
    onError: fail('plans'),
  });

  const pendingPlan = pending.data ? (plans.data?.find((p) => p.plan_id === pending.data?.plan_id)?.name ?? pending.data.plan_id) : null;
  const resumeCheckout = useRef<() => void>(() => undefined);
  resumeCheckout.current = () => {
    if (!pending.data) return;
    if (telegram.inTelegram) setWaitingForPayment(true);
    telegram.openExternal(pending.data.url);
  };
  const dropCheckout = useMutation({
    mutationFn: (sessionId: string) => client.billing.checkout.cancel.mutate({ session_id: sessionId }),
    onSuccess: (res) => {
      forgetCheckout();
      setWaitingForPayment(false);
      setNotice({
        tone: 'info',
        text: res.checkout_status === 'complete' ? t('canceled.alreadyPaid') : t('plans.checkoutCanceled'),
        at: 'plans',
      });
      void refresh();
    },
    onError: fail('plans'),
  });

  // While a payment is on its way, closing the app asks first.
  const paying = waitingForPayment || checkout.isPending || stars.isPending;
  useEffect(() => {
    telegram.confirmClosing(paying);
    return () => telegram.confirmClosing(false);
  }, [paying]);
  // Inside Telegram, the main button carries the primary action for someone on Free: the
  // recommended plan, paid the way its own button pays (Stars first where they are sold).
  const recommended = subscription.data?.tier === 'free' ? (plans.data?.find((p) => p.highlighted) ?? plans.data?.[0] ?? null) : null;
  const buyRecommended = useRef<() => void>(() => undefined);
  buyRecommended.current = () => {
    if (!recommended) return;
    setNotice(null);
    if (starsOffered && recommended.stars_price !== null) stars.mutate({ plan_id: recommended.plan_id });
    else startCheckout(recommended.plan_id);
  };
  const mainText = pending.data ? t('plans.resumeCheckout') : recommended ? t('plans.subscribeTo', { plan: recommended.name }) : null;
  const busyBuying = checkout.isPending || stars.isPending;
  useEffect(() => {
    if (!mainText) return;
    return telegram.mainButton(mainText, () => (pending.data ? resumeCheckout.current() : buyRecommended.current()), busyBuying);
  }, [mainText, busyBuying, pending.data]);

  return (
    <>
      <Card
        title={t('current.heading')}
        id="current-plan"
        actions={
          hasCardBilling ? (
            <button type="button" className="button secondary small" disabled={portal.isPending} onClick={() => portal.mutate()}>
              {portal.isPending ? t('common.opening') : t('current.paymentMethod')}
            </button>
          ) : null
        }
      >
        {notice?.at === 'plan' ? <Notice tone={notice.tone} text={notice.text} /> : null}
        {subscription.isPending ? (
          <Skeleton label={t('current.loading')} lines={3} />
        ) : subscription.isError ? (
          <ErrorState message={t('current.loadFailed')} onRetry={() => void subscription.refetch()} />
        ) : (
          <CurrentPlan
            subscription={subscription.data}
            onFixPayment={fixPayment}
            onCancel={() => {
              setNotice(null);
              cancel.mutate();
            }}
            onResume={() => {
              setNotice(null);
              resume.mutate();
            }}
            busy={cancel.isPending || resume.isPending}
          />
        )}
        {waitingForPayment ? (
          <p className="muted" role="status">
            {t('current.waiting')}
          </p>
        ) : null}
      </Card>
      <Card title={t('plans.heading')} id="plans">
        {notice?.at === 'plans' ? <Notice tone={notice.tone} text={notice.text} /> : null}
        {checkout.isPending && checkoutWait !== 'quick' ? (
          <div className="notice notice-info" role="status">
            {checkoutWait === 'slow' ? (
              <p>{t('plans.slow')}</p>
            ) : (
              <>
                <p>{t('plans.stuck')}</p>
                <div className="row">
                  <button type="button" className="button" onClick={() => checkout.variables && checkout.mutate(checkout.variables)}>
                    {t('common.retry')}
                  </button>
                  <button
                    type="button"
                    className="button secondary"
                    onClick={() => {
                      inFlight.current?.abort();
                      checkout.reset();
                    }}
                  >
                    {t('common.cancel')}
                  </button>
                </div>
              </>
            )}
          </div>
        ) : null}
        {pending.data && pendingPlan ? (
          <div className="notice notice-info pending-checkout" role="status">
            <p>{t('plans.pending', { plan: pendingPlan })}</p>
            <div className="row">
              <button type="button" className="button" onClick={() => resumeCheckout.current()}>
                {t('plans.resumeCheckout')}
              </button>
              <button
                type="button"
                className="button secondary"
                disabled={dropCheckout.isPending}
                onClick={() => pending.data && dropCheckout.mutate(pending.data.session_id)}
              >
                {t('plans.cancelCheckout')}
              </button>
            </div>
          </div>
        ) : null}
        {plans.isPending || subscription.isPending ? (
          <Skeleton label={t('plans.loading')} lines={4} />
        ) : plans.isError || subscription.isError ? (
          <ErrorState message={t('plans.loadFailed')} onRetry={() => void Promise.all([plans.refetch(), subscription.refetch()])} />
        ) : (
          <Plans
            plans={plans.data}
            subscription={subscription.data}
            busyPlan={
              checkout.isPending
                ? (checkout.variables?.plan_id ?? null)
                : stars.isPending
                  ? (stars.variables?.plan_id ?? null)
                  : change.isPending
                    ? (change.variables?.plan_id ?? null)
                    : null
            }
            onStars={
              starsOffered
                ? (planId) => {
                    setNotice(null);
                    stars.mutate({ plan_id: planId });
                  }
                : undefined
            }
            card={!starsOffered || (config.rails ?? []).includes('stripe')}
            locked={!!pending.data}
            onUpgrade={(planId) => {
              setNotice(null);
              startCheckout(planId);
            }}
            loadPreview={loadPreview}
            onSwitch={(planId, prorationDate) => {
              setNotice(null);
              change.mutate({ plan_id: planId, proration_date: prorationDate });
            }}
          />
        )}
        {subscription.data?.tier === 'free' && (!starsOffered || (config.rails ?? []).includes('stripe')) ? (
          <details className="promo" open={promo !== '' || notice?.at === 'promo'}>
            <summary>{t('plans.promoQuestion')}</summary>
            <label className="promo-field">
              <span>{t('plans.promoLabel')}</span>
              <input
                type="text"
                value={promo}
                maxLength={64}
                autoCapitalize="characters"
                autoComplete="off"
                spellCheck={false}
                aria-invalid={!promoValid || notice?.at === 'promo'}
                aria-describedby="promo-hint"
                onChange={(e) => {
                  setPromo(e.target.value);
                  if (notice?.at === 'promo') setNotice(null);
                }}
              />
            </label>
            <p id="promo-hint" className="muted small">
              {promoValid ? t('plans.promoHint') : t('plans.promoFormat')}
            </p>
            {notice?.at === 'promo' ? <Notice tone={notice.tone} text={notice.text} /> : null}
          </details>
        ) : null}
      </Card>
      <Card title={t('invoices.heading')} id="invoices">
        {invoices.isPending ? (
          <Skeleton label={t('invoices.loading')} lines={3} />
        ) : invoices.isError ? (
          <ErrorState message={t('invoices.loadFailed')} onRetry={() => void invoices.refetch()} />
        ) : (
          <Invoices invoices={invoices.data} />
        )}
      </Card>
    </>
  );
}

function Notice({ tone, text }: { tone: 'error' | 'info'; text: string }) {
  return (
    <p className={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {text}
    </p>
  );
}

/** How long something has been pending: `quick` (< 3 s), `slow` (3–8 s, say so), `stuck` (> 8 s, offer a way out). */
function useElapsed(pending: boolean): 'quick' | 'slow' | 'stuck' {
  const [stage, setStage] = useState<'quick' | 'slow' | 'stuck'>('quick');
  useEffect(() => {
    setStage('quick');
    if (!pending) return;
    const slow = setTimeout(() => setStage('slow'), 3000);
    const stuck = setTimeout(() => setStage('stuck'), 8000);
    return () => {
      clearTimeout(slow);
      clearTimeout(stuck);
    };
  }, [pending]);
  return stage;
}
