import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { useAuth } from '../auth.tsx';
import { statusLabel } from '../components/CurrentPlan.tsx';
import { cardBrand, day, money } from '../format.ts';
import { forgetCheckout, pendingCheckout } from '../session.ts';
import { telegram, telegramLink } from '../telegram.ts';
import { useTRPC } from '../trpc.ts';

/** "Back to billing" on the page, and Telegram's own Back button while the page is shown. */
function BackToBilling({ onBack }: { onBack: () => void }) {
  useEffect(() => telegram.backButton(onBack), [onBack]);
  return (
    <button type="button" className="button" onClick={onBack}>
      Back to billing
    </button>
  );
}

/** The return from Checkout: confirms at once (no waiting for the webhook) and shows the new plan. */
export function SuccessPage({ sessionId, onBack }: { sessionId: string; onBack: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { session, config } = useAuth();
  const confirm = useMutation(
    trpc.billing.checkout.confirm.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.billing.pathKey() }) }),
  );
  const started = useRef(false);
  useEffect(() => {
    if (started.current || !session || !sessionId) return;
    started.current = true;
    forgetCheckout();
    confirm.mutate({ session_id: sessionId });
  }, [session, sessionId, confirm]);

  const link = telegramLink(config.telegram_bot_username, config.telegram_app_name, `paid-${sessionId}`);
  if (!session) {
    // Opened in the external browser after paying inside Telegram: there is no sign-in here.
    return (
      <section className="card" aria-labelledby="paid-title">
        <h2 id="paid-title" className="title">
          Payment received
        </h2>
        <p>Thank you! Your plan is being activated.</p>
        {link ? (
          <a className="button" href={link}>
            Return to Telegram
          </a>
        ) : (
          <p className="muted">You can close this page and return to the app.</p>
        )}
      </section>
    );
  }
  const data = confirm.data;
  return (
    <section className="card" aria-labelledby="success-title" aria-busy={confirm.isPending}>
      {confirm.isPending || (!data && !confirm.isError) ? (
        <>
          <h2 id="success-title" className="title">
            Confirming your payment…
          </h2>
          <div className="spinner" role="status" aria-label="Confirming your payment" />
        </>
      ) : confirm.isError ? (
        <>
          <h2 id="success-title" className="title">
            We could not confirm this payment
          </h2>
          <p className="error" role="alert">
            {confirm.error.message}
          </p>
          <button type="button" className="button secondary" onClick={() => confirm.mutate({ session_id: sessionId })}>
            Retry
          </button>
          <BackToBilling onBack={onBack} />
        </>
      ) : data?.checkout_status === 'complete' ? (
        <>
          <h2 id="success-title" className="title">
            Plan activated
          </h2>
          <p className="big">
            You are on <strong>{data.subscription.plan_name}</strong>{' '}
            <span className="muted">({statusLabel(data.subscription.status)})</span>
          </p>
          <dl className="amounts" data-testid="receipt">
            {data.receipt ? (
              <div>
                <dt>{data.receipt.amount_paid === 0 && data.subscription.status === 'trialing' ? 'Charged today (trial)' : 'Charged'}</dt>
                <dd>{money(data.receipt.amount_paid, data.receipt.currency)}</dd>
              </div>
            ) : null}
            {data.receipt?.card_last4 ? (
              <div>
                <dt>Card</dt>
                <dd>
                  {cardBrand(data.receipt.card_brand)} •••• {data.receipt.card_last4}
                </dd>
              </div>
            ) : null}
            {data.receipt?.invoice_number ? (
              <div>
                <dt>Invoice</dt>
                <dd>{data.receipt.invoice_number}</dd>
              </div>
            ) : null}
            {data.subscription.current_period_end ? (
              <div>
                <dt>{data.subscription.status === 'trialing' ? 'First payment' : 'Next renewal'}</dt>
                <dd>{day(data.subscription.current_period_end)}</dd>
              </div>
            ) : null}
          </dl>
          {data.receipt?.receipt_url ? (
            <a
              className="button secondary"
              href={data.receipt.receipt_url}
              target="_blank"
              rel="noreferrer"
              onClick={(e) => {
                // Inside Telegram, through Telegram's own link opener; in a browser, a new tab.
                if (!telegram.inTelegram) return;
                e.preventDefault();
                telegram.openExternal(data.receipt?.receipt_url as string);
              }}
            >
              View receipt
            </a>
          ) : null}
          <BackToBilling onBack={onBack} />
        </>
      ) : (
        <>
          <h2 id="success-title" className="title">
            Payment not completed yet
          </h2>
          <p className="muted">{data?.message}</p>
          <button type="button" className="button secondary" onClick={() => confirm.mutate({ session_id: sessionId })}>
            Check again
          </button>
          <BackToBilling onBack={onBack} />
        </>
      )}
    </section>
  );
}

/** The person left Checkout: record it (the session is expired so it cannot be paid by surprise). */
export function CancelPage({ onBack }: { onBack: () => void }) {
  const trpc = useTRPC();
  const { session } = useAuth();
  const cancel = useMutation(trpc.billing.checkout.cancel.mutationOptions());
  const started = useRef(false);
  useEffect(() => {
    const sessionId = pendingCheckout();
    if (started.current || !session || !sessionId) return;
    started.current = true;
    forgetCheckout();
    cancel.mutate({ session_id: sessionId });
  }, [session, cancel]);
  return (
    <section className="card" aria-labelledby="cancel-title">
      <h2 id="cancel-title" className="title">
        Checkout canceled
      </h2>
      <p>{cancel.data?.message ?? 'You have not been charged.'}</p>
      <BackToBilling onBack={onBack} />
    </section>
  );
}
