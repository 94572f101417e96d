import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth.tsx';
import { telegram } from '../telegram.ts';

export function SignIn() {
  const { t } = useTranslation();
  const { config, status, error, signInDemo, signInTelegram } = useAuth();
  return (
    <section className="card signin" aria-labelledby="signin-title">
      <h2 id="signin-title" className="title">
        {t('signIn.heading')}
      </h2>
      {telegram.inTelegram ? (
        <>
          <p className="muted">{status === 'signing-in' ? t('signIn.withTelegram') : t('signIn.telegramFailed')}</p>
          {status === 'error' && error?.retry !== false ? (
            <button type="button" className="button" onClick={() => void signInTelegram()}>
              {t('signIn.tryAgain')}
            </button>
          ) : null}
        </>
      ) : config.demo ? (
        <>
          <p className="muted">{t('signIn.demoText')}</p>
          <button type="button" className="button" disabled={status === 'signing-in'} onClick={() => void signInDemo()}>
            {status === 'signing-in' ? t('signIn.signingIn') : t('signIn.demoLogin')}
          </button>
        </>
      ) : (
        <p className="muted">{t('signIn.openFromTelegram')}</p>
      )}
      {error ? (
        <p className="error" role="alert">
          {error.message}
        </p>
      ) : null}
    </section>
  );
}
