import { formatting, t } from './i18n.ts';

/**
 * Money in minor units with its currency, in the person's locale, without needless cents:
 * 2900 usd → "$29" (en-US) or "29 $" (de), 2950 → "$29.50"; Telegram Stars are whole: 1500 xtr → "1,500 Stars".
 */
export function money(minor: number, currency: string | null | undefined): string {
  const code = (currency ?? 'usd').toUpperCase();
  if (code === 'XTR') return stars(minor);
  try {
    const whole = minor % 100 === 0;
    return new Intl.NumberFormat(formatting.locale, {
      style: 'currency',
      currency: code,
      minimumFractionDigits: whole ? 0 : 2,
      maximumFractionDigits: whole ? 0 : 2,
    }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${code}`;
  }
}

/** An ISO date or Unix seconds → "Dec 26, 2026" (en-US), "26. Dez. 2026" (de), in Stripe's time zone. */
export function day(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleDateString(formatting.locale, { year: 'numeric', month: 'short', day: 'numeric', timeZone: formatting.timeZone });
}

/** The billing interval as a word: "month", "Monat". */
export const perInterval = (interval: string | null | undefined) =>
  t(`interval.${interval === 'year' || interval === 'week' || interval === 'day' ? interval : 'month'}`);

/** A price per interval: "$29 / month". */
export const pricePer = (amount: number, currency: string | null | undefined, interval: string | null | undefined) =>
  t('common.perInterval', { amount: money(amount, currency), interval: perInterval(interval) });

/** A number of Telegram Stars: 1500 → "1,500 Stars". */
export const stars = (n: number) => t('stars', { count: n, formatted: n.toLocaleString(formatting.locale) });

const BRANDS: Record<string, string> = {
  amex: 'American Express',
  diners: 'Diners Club',
  discover: 'Discover',
  jcb: 'JCB',
  mastercard: 'Mastercard',
  unionpay: 'UnionPay',
  visa: 'Visa',
};
/** Stripe's card brand code → its name: `visa` → "Visa". */
export const cardBrand = (brand: string | null | undefined) => (brand ? (BRANDS[brand] ?? brand) : t('success.card'));
