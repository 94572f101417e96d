/** A Bot API refusal: `{ ok: false, error_code, description, parameters? }` on the wire. */
export class TelegramError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number },
  ) {
    super(description);
  }

  toJSON() {
    return {
      ok: false,
      error_code: this.errorCode,
      description: this.description,
      ...(this.parameters ? { parameters: this.parameters } : {}),
    };
  }
}

export const badRequest = (what: string) => new TelegramError(400, `Bad Request: ${what}`);
export const forbidden = (what: string) => new TelegramError(403, `Forbidden: ${what}`);
export const tooManyRequests = (retryAfter: number) =>
  new TelegramError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
