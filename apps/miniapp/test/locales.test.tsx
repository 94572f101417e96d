import type { Plan, Subscription } from '@miniapp-billing/client';
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { CurrentPlan } from '../src/components/CurrentPlan.tsx';
import { Plans } from '../src/components/Plans.tsx';
import { day, money } from '../src/format.ts';
import { chooseLocale, formatting, LANGUAGES, setupI18n } from '../src/i18n.ts';

/** Intl writes no-break spaces between amount and currency; compared as spaces. */
const plain = (s: string | null | undefined) => (s ?? '').replace(/[\u00a0\u202f]/g, ' ');

afterEach(async () => {
  cleanup();
  await setupI18n({ browser: ['en-US'] });
});

const catalogs = async () => ({ en: await LANGUAGES.en(), de: await LANGUAGES.de() });

/** Every key of a catalog, with the {{variables}} and <tags> its words use. */
function shape(messages: object, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(messages)) {
    const path = `${prefix}${key}`;
    if (typeof value === 'string') {
      const vars = [...value.matchAll(/\{\{(\w+)\}\}|<(\w+)>/g)].map((m) => m[1] ?? `<${m[2]}>`).sort();
      out.set(path, vars.join(','));
    } else {
      for (const [k, v] of shape(value as object, `${path}.`)) out.set(k, v);
    }
  }
  return out;
}

describe('translations', () => {
  it('every language has every English key, no other, and the same variables and tags in each', async () => {
    const all = await catalogs();
    expect(Object.keys(all).sort()).toEqual(Object.keys(LANGUAGES).sort());
    const english = shape(all.en);
    expect(english.size).toBeGreaterThan(100);
    for (const [language, messages] of Object.entries(all)) {
      const other = shape(messages);
      expect([...other.keys()].sort(), language).toEqual([...english.keys()].sort());
      for (const [key, vars] of english) expect(other.get(key), `${language}: ${key}`).toBe(vars);
      for (const [key] of other) expect(key.endsWith('_one') ? other.has(key.replace(/_one$/, '_other')) : true).toBe(true);
    }
  });

  it('no German word is left in English', async () => {
    const all = await catalogs();
    const english = shape(all.en);
    const flat = (m: object, p = ''): Array<[string, string]> =>
      Object.entries(m).flatMap(([k, v]) =>
        typeof v === 'string' ? [[`${p}${k}`, v] as [string, string]] : flat(v as object, `${p}${k}.`),
      );
    const en = new Map(flat(all.en));
    // Words that are the same in both: loanwords and the bare format.
    const same = new Set(['common.perInterval', 'plans.upgrade', 'plans.downgrade', 'invoices.purpose.create']);
    const untranslated = flat(all.de).filter(([k, v]) => v === en.get(k) && !same.has(k));
    expect(untranslated).toEqual([]);
    expect(english.size).toBe(en.size);
  });
});

describe('locale and time zone', () => {
  it('takes Telegram’s language_code first, then the browser’s languages; words fall back to English', () => {
    expect(chooseLocale('de', ['en-US'])).toEqual({ locale: 'de', language: 'de' });
    expect(chooseLocale(null, ['de-AT', 'en'])).toEqual({ locale: 'de-AT', language: 'de' });
    expect(chooseLocale('fr', ['de-DE'])).toEqual({ locale: 'fr', language: 'de' });
    expect(chooseLocale('pt_br', [])).toEqual({ locale: 'pt-BR', language: 'en' });
    expect(chooseLocale('not a locale!', [])).toEqual({ locale: 'en-US', language: 'en' });
  });

  it('a German locale sees German words, money and dates', async () => {
    await setupI18n({ telegramCode: 'de', browser: ['en-US'] });
    expect(document.documentElement.lang).toBe('de');
    expect(plain(money(2900, 'usd'))).toBe('29 $');
    expect(plain(money(2950, 'eur'))).toBe('29,50 €');
    expect(money(1500, 'xtr')).toBe('1.500 Sterne');
    expect(day('2027-01-27T10:00:00Z')).toBe('27. Jan. 2027');
    const premium: Subscription = {
      tier: 'premium_monthly',
      status: 'active',
      plan_name: 'Premium',
      current_period_start: '2026-12-27T10:00:00.000Z',
      current_period_end: '2027-01-27T10:00:00.000Z',
      cancel_at_period_end: false,
      cancel_at: null,
      price_usd_monthly: 29,
      amount: 2900,
      currency: 'usd',
      interval: 'month',
      has_access: true,
      access_until: '2027-01-27T10:00:00.000Z',
      subscription_id: 'sub_1',
      rail: 'stripe',
      payment_url: null,
    };
    render(<CurrentPlan subscription={premium} onFixPayment={() => undefined} onCancel={() => undefined} />);
    expect(screen.getByText('Aktiv')).toBeTruthy();
    expect(plain(document.body.textContent)).toContain('29 $ / Monat');
    expect(document.body.textContent).toContain('Verlängert sich am 27. Jan. 2027');
    expect(screen.getByRole('button', { name: 'Tarif kündigen' })).toBeTruthy();
    cleanup();
    const plan: Plan = {
      plan_id: 'premium_yearly',
      name: 'Premium',
      amount: 29_000,
      currency: 'usd',
      interval: 'year',
      price_usd_monthly: 24,
      features: [],
      stars_price: null,
      trial_days: 14,
      highlighted: true,
    };
    const free = { ...premium, tier: 'free', status: 'inactive' as const, price_usd_monthly: 0, rail: null };
    render(
      <Plans
        plans={[plan]}
        subscription={free}
        busyPlan={null}
        onUpgrade={() => undefined}
        onSwitch={() => undefined}
        loadPreview={async () => {
          throw new Error('unused');
        }}
      />,
    );
    expect(document.body.textContent).toContain('14 Tage kostenlos testen');
    expect(plain(document.body.textContent)).toContain('290 $ / Jahr');
    expect(screen.getByRole('button', { name: 'Upgrade auf Premium' })).toBeTruthy();
  });

  it('dates are in Stripe’s time zone (UTC), not the device’s: Los Angeles sees the date Stripe’s portal shows', async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      const end = '2027-01-28T03:00:00Z';
      // The device's own zone would say the 27th…
      expect(new Date(end).toLocaleDateString('en-US', { month: 'short', day: 'numeric' })).toBe('Jan 27');
      // …the app says what Stripe says.
      expect(formatting.timeZone).toBe('UTC');
      expect(day(end)).toBe('Jan 28, 2027');
      await setupI18n({ browser: ['en-US'], timeZone: 'Asia/Tokyo' });
      expect(day(end)).toBe('Jan 28, 2027');
      await setupI18n({ browser: ['en-US'], timeZone: 'Not/AZone' });
      expect(formatting.timeZone).toBe('UTC');
    } finally {
      process.env.TZ = tz;
    }
  });
});
