/**
 * Money in minor units with its currency, without needless cents: 2900 usd → "$29", 2950 → "$29.50";
 * Telegram Stars are whole: 1500 xtr → "1,500 Stars".
 */
export function money(minor: number, currency: string | null | undefined): string {
  const code = (currency ?? 'usd').toUpperCase();
  if (code === 'XTR') return stars(minor);
  try {
    const whole = minor % 100 === 0;
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: code, minimumFractionDigits: whole ? 0 : 2 }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${code}`;
  }
}

/** An ISO date or Unix seconds → "Dec 26, 2026". */
export function day(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric' });
}

export const perInterval = (interval: string | null | undefined) =>
  interval === 'year' ? 'year' : interval === 'week' ? 'week' : interval === 'day' ? 'day' : 'month';

/** A number of Telegram Stars: 1500 → "1,500 Stars". */
export const stars = (n: number) => `${n.toLocaleString('en-US')} ${n === 1 ? 'Star' : 'Stars'}`;

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
export const cardBrand = (brand: string | null | undefined) => (brand ? (BRANDS[brand] ?? brand) : 'Card');
