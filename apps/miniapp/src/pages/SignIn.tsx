import { useAuth } from '../auth.tsx';
import { telegram } from '../telegram.ts';

export function SignIn() {
  const { config, status, error, signInDemo, signInTelegram } = useAuth();
  return (
    <section className="card signin" aria-labelledby="signin-title">
      <h2 id="signin-title" className="title">
        Sign in
      </h2>
      {telegram.inTelegram ? (
        <>
          <p className="muted">{status === 'signing-in' ? 'Signing you in with Telegram…' : 'We could not sign you in with Telegram.'}</p>
          {status === 'error' && error?.retry !== false ? (
            <button type="button" className="button" onClick={() => void signInTelegram()}>
              Try again
            </button>
          ) : null}
        </>
      ) : config.demo ? (
        <>
          <p className="muted">This is the demo: payments go to a local Stripe emulator, no real card is charged.</p>
          <button type="button" className="button" disabled={status === 'signing-in'} onClick={() => void signInDemo()}>
            {status === 'signing-in' ? 'Signing in…' : 'Demo login'}
          </button>
        </>
      ) : (
        <p className="muted">Open this app from Telegram to sign in.</p>
      )}
      {error ? (
        <p className="error" role="alert">
          {error.message}
        </p>
      ) : null}
    </section>
  );
}
