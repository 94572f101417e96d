import { billingErrorOf, type Subscription } from '@miniapp-billing/client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useAuth } from '../auth.tsx';
import { CurrentPlan } from '../components/CurrentPlan.tsx';
import { Invoices } from '../components/Invoices.tsx';
import { Plans } from '../components/Plans.tsx';
import { Card, ErrorState, Skeleton } from '../components/ui.tsx';
import { day } from '../format.ts';
import { rememberCheckout } from '../session.ts';
import { telegram } from '../telegram.ts';
import { useTRPC } from '../trpc.ts';

const newIdempotencyKey = () =>
  typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? `checkout-${crypto.randomUUID()}`
    : `checkout-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

export function BillingPage() {
  const trpc = useTRPC();
  const { client, config } = useAuth();
  const queryClient = useQueryClient();
  const [notice, setNotice] = useState<{ tone: 'error' | 'info'; text: string } | null>(null);
  const [waitingForPayment, setWaitingForPayment] = useState(false);
  const subscription = useQuery({ ...trpc.billing.subscription.get.queryOptions(), refetchInterval: waitingForPayment ? 4000 : false });
  const plans = useQuery({ ...trpc.billing.plans.list.queryOptions(), staleTime: 10 * 60_000 });
  const invoices = useQuery(trpc.billing.invoices.list.queryOptions({ limit: 20 }));

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.billing.pathKey() });
  useEffect(() => {
    if (!waitingForPayment || !subscription.data || subscription.data.tier === 'free') return;
    setWaitingForPayment(false);
    setNotice({ tone: 'info', text: `You are now on ${subscription.data.plan_name}.` });
    // The payment that brought the plan belongs in the history too (it may have been read before it landed).
    void queryClient.invalidateQueries({ queryKey: trpc.billing.invoices.pathKey() });
  }, [waitingForPayment, subscription.data, queryClient, trpc]);

  const fail = (err: unknown) => setNotice({ tone: 'error', text: billingErrorOf(err).message });
  // One Idempotency-Key per intent (a plan the person chose to buy), reused when the same intent is
  // retried after a lost answer, so a retry can never open a second Checkout Session.
  const intents = useRef(new Map<string, string>());
  const checkout = useMutation({
    mutationFn: ({ plan_id }: { plan_id: string }) => {
      let key = intents.current.get(plan_id);
      if (!key) {
        key = newIdempotencyKey();
        intents.current.set(plan_id, key);
      }
      return client.billing.checkout.create.mutate({ plan_id }, { context: { idempotencyKey: key } });
    },
    onSuccess: (res, { plan_id }) => {
      intents.current.delete(plan_id);
      rememberCheckout(res.session_id);
      if (telegram.inTelegram) setWaitingForPayment(true);
      telegram.openExternal(res.url);
    },
    onError: (err, { plan_id }) => {
      // A definite answer ends the intent; a lost one (network, 5xx) keeps its key for the retry.
      const status = billingErrorOf(err).httpStatus;
      if (status > 0 && status < 500) intents.current.delete(plan_id);
      fail(err);
    },
  });
  // Back from the portal, re-read the customer from Stripe at once: what the person did there
  // shows now, not when the webhooks arrive.
  const portalReturn = useMutation(
    trpc.billing.portal.return.mutationOptions({
      onSuccess: (sub) => {
        queryClient.setQueryData(trpc.billing.subscription.get.queryKey(), sub);
        void queryClient.invalidateQueries({ queryKey: trpc.billing.invoices.pathKey() });
      },
    }),
  );
  const portalOpened = useRef(false);
  const portal = useMutation(
    trpc.billing.portal.create.mutationOptions({
      onSuccess: (res) => {
        portalOpened.current = true;
        telegram.openExternal(res.url);
      },
      onError: fail,
    }),
  );
  const { mutate: syncFromPortal } = portalReturn;
  const returnedFromPortal = useRef(false);
  useEffect(() => {
    const url = new URL(window.location.href);
    if (returnedFromPortal.current || url.searchParams.get('portal') !== 'return') return;
    returnedFromPortal.current = true;
    url.searchParams.delete('portal');
    window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
    syncFromPortal({});
  }, [syncFromPortal]);
  // Back from the external browser (Telegram): show the state Stripe left us in, re-read from
  // Stripe when the person went to the portal.
  useEffect(
    () =>
      telegram.onActivated(() => {
        if (!portalOpened.current) return void queryClient.invalidateQueries({ queryKey: trpc.billing.pathKey() });
        portalOpened.current = false;
        syncFromPortal({});
      }),
    [syncFromPortal, queryClient, trpc],
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
        setNotice({ tone: 'info', text: status === 'paid' ? 'Paid in Stars: activating your plan…' : 'Your payment is being processed…' });
        setWaitingForPayment(true);
        void refresh();
      } else if (status === 'failed') setNotice({ tone: 'error', text: 'The payment did not go through. You were not charged.' });
    },
    onError: fail,
  });
  // Cancel at period end, and its undo: the answer is the subscription as it now stands.
  const setSubscription = (sub: Subscription) => {
    queryClient.setQueryData(trpc.billing.subscription.get.queryKey(), sub);
  };
  const cancel = useMutation(
    trpc.billing.subscription.cancel.mutationOptions({
      onSuccess: (sub) => {
        setSubscription(sub);
        setNotice({
          tone: 'info',
          text: `${sub.plan_name} is cancelled. You keep it until ${day(sub.cancel_at ?? sub.current_period_end)}.`,
        });
      },
      onError: fail,
    }),
  );
  const resume = useMutation(
    trpc.billing.subscription.resume.mutationOptions({
      onSuccess: (sub) => {
        setSubscription(sub);
        setNotice({ tone: 'info', text: `${sub.plan_name} will renew as before.` });
      },
      onError: fail,
    }),
  );
  // "Payment method & billing" only for someone with a Stripe customer: a card subscription or a card invoice.
  const hasCardBilling = subscription.data?.rail === 'stripe' || (invoices.data ?? []).some((i) => i.currency.toUpperCase() !== 'XTR');
  const fixPayment = () => {
    const url = subscription.data?.payment_url;
    if (url) telegram.openExternal(url);
    else portal.mutate({});
  };
  const change = useMutation(
    trpc.billing.subscription.change.mutationOptions({
      onSuccess: (sub) => {
        setNotice({ tone: 'info', text: `You are now on ${sub.plan_name}.` });
        void refresh();
      },
      onError: fail,
    }),
  );

  return (
    <>
      {notice ? (
        <p className={`notice notice-${notice.tone}`} role={notice.tone === 'error' ? 'alert' : 'status'}>
          {notice.text}
        </p>
      ) : null}
      <Card
        title="Current plan"
        id="current-plan"
        actions={
          hasCardBilling ? (
            <button type="button" className="button secondary small" disabled={portal.isPending} onClick={() => portal.mutate({})}>
              {portal.isPending ? 'Opening…' : 'Payment method & billing'}
            </button>
          ) : null
        }
      >
        {subscription.isPending ? (
          <Skeleton label="Loading your plan" lines={3} />
        ) : subscription.isError ? (
          <ErrorState message="Could not load your plan." onRetry={() => void subscription.refetch()} />
        ) : (
          <CurrentPlan
            subscription={subscription.data}
            onFixPayment={fixPayment}
            onCancel={() => {
              setNotice(null);
              cancel.mutate({});
            }}
            onResume={() => {
              setNotice(null);
              resume.mutate({});
            }}
            busy={cancel.isPending || resume.isPending}
          />
        )}
        {waitingForPayment ? (
          <p className="muted" role="status">
            Waiting for your payment to complete…
          </p>
        ) : null}
      </Card>
      <Card title="Plans" id="plans">
        {plans.isPending || subscription.isPending ? (
          <Skeleton label="Loading plans" lines={4} />
        ) : plans.isError || subscription.isError ? (
          <ErrorState message="Could not load the plans." onRetry={() => void Promise.all([plans.refetch(), subscription.refetch()])} />
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
            onUpgrade={(planId) => {
              setNotice(null);
              checkout.mutate({ plan_id: planId });
            }}
            onSwitch={(planId) => {
              setNotice(null);
              change.mutate({ plan_id: planId });
            }}
          />
        )}
      </Card>
      <Card title="Invoices" id="invoices">
        {invoices.isPending ? (
          <Skeleton label="Loading invoices" lines={3} />
        ) : invoices.isError ? (
          <ErrorState message="Could not load your invoices." onRetry={() => void invoices.refetch()} />
        ) : (
          <Invoices invoices={invoices.data} />
        )}
      </Card>
    </>
  );
}
