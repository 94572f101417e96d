import { readFileSync } from 'node:fs';
import { StripeApiError } from './errors.ts';
import { API_VERSION } from './objects.ts';

/**
 * The API versions the emulator renders. The account's default is the one the SDK pins; the other is
 * the version of Stripe's OpenAPI document in `spec/`, whose shapes differ from today's by the fields in
 * `spec/api-drift-2023-08-16-vs-stripe-node-23.1.0.json`. Any other `Stripe-Version` is refused.
 */
export const LEGACY_VERSION = '2023-08-16';
export const SERVED_VERSIONS = [API_VERSION, LEGACY_VERSION] as const;
export type ServedVersion = (typeof SERVED_VERSIONS)[number];

interface Drift {
  removed_since_2023_08_16: string[];
  added_since_2023_08_16: string[];
}
const drift = JSON.parse(
  readFileSync(new URL('../spec/api-drift-2023-08-16-vs-stripe-node-23.1.0.json', import.meta.url), 'utf8'),
) as Record<string, Drift | unknown>;

const driftOf = (object: string): Drift | undefined => {
  const d = drift[object] as Drift | undefined;
  return d && Array.isArray(d.added_since_2023_08_16) ? d : undefined;
};

/** Fields removed since 2023 that can be recovered from today's shape, per object. */
type Record_ = Record<string, unknown>;
const firstItem = (sub: Record_) => ((sub.items as { data?: Record_[] } | undefined)?.data ?? [])[0] ?? {};
const LEGACY_FIELDS: Record<string, (o: Record_) => Record_> = {
  subscription: (sub) => ({
    current_period_start: firstItem(sub).current_period_start ?? sub.start_date ?? null,
    current_period_end: firstItem(sub).current_period_end ?? null,
    discount: null,
  }),
  invoice: (inv) => {
    const details = (inv.parent as { subscription_details?: Record_ | null } | null)?.subscription_details ?? null;
    return {
      application_fee_amount: null,
      charge: null,
      discount: null,
      paid: inv.status === 'paid',
      paid_out_of_band: false,
      payment_intent: null,
      quote: null,
      rendering_options: null,
      subscription: details?.subscription ?? null,
      subscription_details: details ? { metadata: details.metadata ?? null } : null,
      subscription_proration_date: null,
      tax: null,
      total_tax_amounts: [],
      transfer_data: null,
    };
  },
  'checkout.session': () => ({ shipping_details: null }),
};

/**
 * `value` as the API at `version` shows it. Today's shape is stored; for 2023-08-16 every object
 * (nested ones too) loses the fields added since and regains the ones removed, derived from today's
 * fields. A parent is rendered before its children, so it can still read their current fields.
 */
export function renderAt(version: ServedVersion, value: unknown): unknown {
  if (version === API_VERSION) return value;
  return legacy(value);
}

function legacy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(legacy);
  if (value === null || typeof value !== 'object') return value;
  let record = value as Record_;
  const object = typeof record.object === 'string' ? record.object : undefined;
  const d = object ? driftOf(object) : undefined;
  if (d && object) {
    const recovered = LEGACY_FIELDS[object]?.(record) ?? {};
    const out: Record_ = {};
    for (const [k, v] of Object.entries(record)) if (!d.added_since_2023_08_16.includes(k)) out[k] = v;
    for (const k of d.removed_since_2023_08_16) if (!(k in out)) out[k] = k in recovered ? recovered[k] : null;
    record = out;
  }
  const out: Record_ = {};
  for (const [k, v] of Object.entries(record)) out[k] = legacy(v);
  if (object === 'event') out.api_version = LEGACY_VERSION;
  return out;
}

/** The version a request asks for (`Stripe-Version`), or the account default; 400 for one not served. */
export function requestedVersion(header: string | string[] | undefined): ServedVersion {
  const asked = Array.isArray(header) ? header[0] : header;
  if (asked === undefined || asked === '') return API_VERSION;
  const found = SERVED_VERSIONS.find((v) => v === asked.trim());
  if (found) return found;
  throw new StripeApiError(
    400,
    'invalid_request_error',
    `Invalid Stripe API version: ${asked}. This emulator renders ${SERVED_VERSIONS.join(' and ')}; it cannot render ${asked}.`,
    { param: 'Stripe-Version' },
  );
}

export function isServedVersion(v: string): v is ServedVersion {
  return (SERVED_VERSIONS as readonly string[]).includes(v);
}

/** Expandable fields that no longer exist at today's version, per object (drift `removed`). */
export function removedSince2023(object: string): string[] {
  return driftOf(object)?.removed_since_2023_08_16 ?? [];
}
