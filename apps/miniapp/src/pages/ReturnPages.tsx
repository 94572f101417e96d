import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth.tsx';
import { statusLabel } from '../components/CurrentPlan.tsx';
import { Emphasis } from '../components/ui.tsx';
import { cardBrand, day, money } from '../format.ts';
import { errorText } from '../i18n.ts';
import { forgetCheckout, pendingCheckout } from '../session.ts';
import { telegram, telegramLink } from '../telegram.ts';
import { billingKeys } from '../trpc.ts';

/** "Back to billing" on the page, and Telegram's own Back button while the page is shown. */
function BackToBilling({ onBack }: { onBack: () => void }) {
  const { t } = useTranslation();
  useEffect(() => telegram.backButton(onBack), [onBack]);
  return (
    <button type="button" className="button" onClick={onBack}>
      {t('common.backToBilling')}
    </button>
  );
}

/** The return from Checkout: confirms at once (no waiting for the webhook) and shows the new plan. */
export function SuccessPage({ sessionId, onBack }: { sessionId: string; onBack: () => void }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const { session, config, client } = useAuth();
  const confirm = useMutation({
    mutationFn: (input: { session_id: string }) => client.billing.checkout.confirm.mutate(input),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: billingKeys.all }),
  });
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
          {t('success.received')}
        </h2>
        <p>{t('success.thanks')}</p>
        {link ? (
          <a className="button" href={link}>
            {t('success.returnToTelegram')}
          </a>
        ) : (
          <p className="muted">{t('success.closePage')}</p>
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
            {t('success.confirming')}
          </h2>
          <div className="spinner" role="status" aria-label={t('success.confirming')} />
        </>
      ) : confirm.isError ? (
        <>
          <h2 id="success-title" className="title">
            {t('success.confirmFailed')}
          </h2>
          <p className="error" role="alert">
            {errorText(confirm.error)}
          </p>
          <button type="button" className="button secondary" onClick={() => confirm.mutate({ session_id: sessionId })}>
            {t('common.retry')}
          </button>
          <BackToBilling onBack={onBack} />
        </>
      ) : data?.checkout_status === 'complete' ? (
        <>
          <h2 id="success-title" className="title">
            {t('success.activated')}
          </h2>
          <p className="big">
            <Emphasis k="success.youAreOn" values={{ plan: data.subscription.plan_name }} />{' '}
            <span className="muted">({statusLabel(data.subscription.status)})</span>
          </p>
          <dl className="amounts" data-testid="receipt">
            {data.receipt ? (
              <div>
                <dt>
                  {data.receipt.amount_paid === 0 && data.subscription.status === 'trialing'
                    ? t('success.chargedTrial')
                    : t('success.charged')}
                </dt>
                <dd>{money(data.receipt.amount_paid, data.receipt.currency)}</dd>
              </div>
            ) : null}
            {data.receipt?.card_last4 ? (
              <div>
                <dt>{t('success.card')}</dt>
                <dd>
                  {cardBrand(data.receipt.card_brand)} •••• {data.receipt.card_last4}
                </dd>
              </div>
            ) : null}
            {data.receipt?.invoice_number ? (
              <div>
                <dt>{t('success.invoice')}</dt>
                <dd>{data.receipt.invoice_number}</dd>
              </div>
            ) : null}
            {data.subscription.current_period_end ? (
              <div>
                <dt>{data.subscription.status === 'trialing' ? t('success.firstPayment') : t('success.nextRenewal')}</dt>
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
              {t('success.viewReceipt')}
            </a>
          ) : null}
          <BackToBilling onBack={onBack} />
        </>
      ) : (
        <>
          <h2 id="success-title" className="title">
            {t('success.notCompleted')}
          </h2>
          <p className="muted">
            {t(
              data?.checkout_status === 'expired'
                ? 'success.pendingExpired'
                : data?.checkout_status === 'canceled'
                  ? 'success.pendingCanceled'
                  : 'success.pendingOpen',
            )}
          </p>
          <button type="button" className="button secondary" onClick={() => confirm.mutate({ session_id: sessionId })}>
            {t('success.checkAgain')}
          </button>
          <BackToBilling onBack={onBack} />
        </>
      )}
    </section>
  );
}

/** The person left Checkout: record it (the session is expired so it cannot be paid by surprise). */
export function CancelPage({ onBack }: { onBack: () => void }) {
  const { t } = useTranslation();
  const { session, client } = useAuth();
  const cancel = useMutation({ mutationFn: (input: { session_id: string }) => client.billing.checkout.cancel.mutate(input) });
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
        {t('canceled.heading')}
      </h2>
      <p>{cancel.data?.checkout_status === 'complete' ? t('canceled.alreadyPaid') : t('canceled.notCharged')}</p>
      <BackToBilling onBack={onBack} />
    </section>
  );
}
