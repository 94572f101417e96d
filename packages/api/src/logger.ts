import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Only chosen fields are ever logged (method, route, status, duration, request
 * id, error codes); redaction is a second line of defence for anything that slips into an object.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'miniapp-billing' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'headers["stripe-signature"]',
          '*.access_token',
          '*.init_data',
          '*.token',
          '*.secret',
          '*.password',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
