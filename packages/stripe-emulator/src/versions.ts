import { readFileSync } from 'node:fs';
import { StripeApiError } from './errors.ts';
import { API_VERSION } from './objects.ts';

/**
 * The API versions the emulator renders, and how. Two shapes are modeled: today's, at the version
 * the SDK pins (the account's default), and 2023-08-16's, the version of Stripe's OpenAPI document in
 * `spec/`, whose shapes differ from today's by the fields in
 * `spec/api-drift-2023-08-16-vs-stripe-node-23.1.0.json`. Every real version (the SDK's list of them)
 * from 2020-08-27 on is served with the modeled shape nearest to it: before 2025-03-31.basil (which
 * moved `current_period_*` to subscription items and `invoice.subscription` under `parent`) the 2023
 * shape, from then on today's. Older or unknown versions are refused with a 400 that says so.
 */
export const LEGACY_VERSION = '2023-08-16';
/** The shapes modeled, by the version each was read from. */
export const SERVED_VERSIONS = [API_VERSION, LEGACY_VERSION] as const;
/** Any version string the emulator accepts (one of Stripe's, from OLDEST_SERVED on). */
export type ServedVersion = string;
export type Shape = 'current' | 'legacy';

const OLDEST_SERVED = '2020-08-27';
const CURRENT_SHAPE_FROM = '2025-03-31';
/** Stripe's API versions, as the pinned SDK lists them (the webhook endpoint's `api_version` enum). */
const KNOWN_VERSIONS: string[] = (
  JSON.parse(readFileSync(new URL('../spec/params.json', import.meta.url), 'utf8')) as {
    operations: Record<string, { properties?: Record<string, { enum?: string[] }> }>;
  }
).operations['POST /v1/webhook_endpoints']?.properties?.api_version?.enum ?? [API_VERSION];

export function shapeOf(version: ServedVersion): Shape {
  return version >= CURRENT_SHAPE_FROM ? 'current' : 'legacy';
}

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

/** What a 2023-shaped invoice names that today's keeps elsewhere: its payment intent and charge. */
export interface Links {
  paymentIntentOf(invoiceId: string): string | null;
  chargeOf(invoiceId: string): string | null;
}
const NO_LINKS: Links = { paymentIntentOf: () => null, chargeOf: () => null };

const firstItem = (sub: Record_) => ((sub.items as { data?: Record_[] } | undefined)?.data ?? [])[0] ?? {};
const LEGACY_FIELDS: Record<string, (o: Record_, links: Links) => Record_> = {
  subscription: (sub) => ({
    current_period_start: firstItem(sub).current_period_start ?? sub.start_date ?? null,
    current_period_end: firstItem(sub).current_period_end ?? null,
    discount: null,
  }),
  invoice: (inv, links) => {
    const details = (inv.parent as { subscription_details?: Record_ | null } | null)?.subscription_details ?? null;
    return {
      application_fee_amount: null,
      charge: links.chargeOf(String(inv.id)),
      discount: null,
      paid: inv.status === 'paid',
      paid_out_of_band: false,
      payment_intent: inv.status === 'draft' ? null : links.paymentIntentOf(String(inv.id)),
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
export function renderAt(version: ServedVersion, value: unknown, links: Links = NO_LINKS): unknown {
  if (shapeOf(version) === 'current') return withEventVersion(value, version);
  return legacy(value, version, links);
}

/** An event names the version it is rendered at. */
function withEventVersion(value: unknown, version: string): unknown {
  if (version === API_VERSION || value === null || typeof value !== 'object' || (value as Record_).object !== 'event') return value;
  return { ...(value as Record_), api_version: version };
}

function legacy(value: unknown, version: string, links: Links): unknown {
  if (Array.isArray(value)) return value.map((v) => legacy(v, version, links));
  if (value === null || typeof value !== 'object') return value;
  let record = value as Record_;
  const object = typeof record.object === 'string' ? record.object : undefined;
  const d = object ? driftOf(object) : undefined;
  if (d && object) {
    const recovered = LEGACY_FIELDS[object]?.(record, links) ?? {};
    const out: Record_ = {};
    for (const [k, v] of Object.entries(record)) if (!d.added_since_2023_08_16.includes(k)) out[k] = v;
    for (const k of d.removed_since_2023_08_16) if (!(k in out)) out[k] = k in recovered ? recovered[k] : null;
    record = out;
  }
  const out: Record_ = {};
  for (const [k, v] of Object.entries(record)) out[k] = legacy(v, version, links);
  if (object === 'event') out.api_version = version;
  return out;
}

/** The version a request asks for (`Stripe-Version`), or the account default; 400 for one not served. */
export function requestedVersion(header: string | string[] | undefined): ServedVersion {
  const asked = Array.isArray(header) ? header[0] : header;
  if (asked === undefined || asked === '') return API_VERSION;
  const version = asked.trim();
  if (isServedVersion(version)) return version;
  throw new StripeApiError(400, 'invalid_request_error', `${notServed(version)}`, { param: 'Stripe-Version' });
}

/** Every version served, oldest first. */
export function servedVersions(): string[] {
  return KNOWN_VERSIONS.filter(isServedVersion);
}

export function isServedVersion(v: string): boolean {
  return v >= OLDEST_SERVED && KNOWN_VERSIONS.includes(v);
}

/** Why a version is refused, naming what is served. */
export function notServed(version: string): string {
  const why = KNOWN_VERSIONS.includes(version) ? `This emulator cannot render ${version}` : `Invalid Stripe API version: ${version}`;
  return `${why}. It renders Stripe's versions from ${OLDEST_SERVED} on: with the shapes of ${LEGACY_VERSION} before ${CURRENT_SHAPE_FROM}, and of ${API_VERSION} from then on.`;
}

/** Expandable fields that no longer exist at today's version, per object (drift `removed`). */
export function removedSince2023(object: string): string[] {
  return driftOf(object)?.removed_since_2023_08_16 ?? [];
}
