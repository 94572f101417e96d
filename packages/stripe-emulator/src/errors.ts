export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error' | 'authentication_error';

/** An error answered with Stripe's envelope: `{ error: { type, code?, message, param? } }`. */
export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: StripeErrorType,
    message: string,
    readonly extra: { code?: string; param?: string; decline_code?: string } = {},
  ) {
    super(message);
  }

  toBody(requestId: string): { error: Record<string, unknown> } {
    return {
      error: {
        type: this.type,
        message: this.message,
        ...this.extra,
        request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}`,
      },
    };
  }
}

export const missing = (kind: string, id: string, param = 'id') =>
  new StripeApiError(404, 'invalid_request_error', `No such ${kind}: '${id}'`, { code: 'resource_missing', param });

export const invalid = (message: string, param?: string) =>
  new StripeApiError(400, 'invalid_request_error', message, param ? { code: 'parameter_invalid', param } : {});

export const required = (param: string) =>
  new StripeApiError(400, 'invalid_request_error', `Missing required param: ${param}.`, {
    code: 'parameter_missing',
    param,
  });

export const cardDeclined = () =>
  new StripeApiError(402, 'card_error', 'Your card was declined.', {
    code: 'card_declined',
    decline_code: 'generic_decline',
  });

export const errorForStatus = (status: number): StripeApiError => {
  switch (status) {
    case 400:
      return invalid('Injected fault: invalid request.');
    case 401:
      return new StripeApiError(401, 'authentication_error', 'Injected fault: invalid API key provided.');
    case 402:
      return cardDeclined();
    case 404:
      return new StripeApiError(404, 'invalid_request_error', 'Injected fault: no such resource.', {
        code: 'resource_missing',
      });
    case 409:
      return new StripeApiError(409, 'idempotency_error', 'Injected fault: conflicting request.');
    case 429:
      return new StripeApiError(
        429,
        'invalid_request_error',
        'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
        { code: 'rate_limit' },
      );
    default:
      return new StripeApiError(status, 'api_error', 'An unexpected error occurred (injected fault).');
  }
};
