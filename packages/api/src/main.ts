import { ConfigError, parseEnvOrExit } from './env.ts';
import { createLogger } from './logger.ts';
import { startServer } from './server.ts';

// `pnpm start`: with no configuration at all this is the whole demo.
const env = parseEnvOrExit(process.env);
const logger = createLogger(env.LOG_LEVEL);
try {
  const server = await startServer(env, { logger });
  logger.info(
    {
      url: server.url,
      demo: server.demo,
      database: server.database.kind,
      stripe: server.emulator?.url ?? env.STRIPE_API_BASE ?? 'api.stripe.com',
      telegram: server.telegram?.url ?? env.TELEGRAM_API_ROOT ?? (server.deps.bot ? 'api.telegram.org' : 'off'),
    },
    'listening',
  );
  console.log(
    `\n  Mini App Billing is running at ${server.url}\n  API docs: ${server.url}/api/v1/docs${server.emulator ? `\n  Stripe emulator: ${server.emulator.url}` : ''}${server.telegram ? `\n  Telegram emulator (Bot API, Stars): ${server.telegram.url}` : ''}\n`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  if (err instanceof ConfigError) console.error(err.message);
  else logger.fatal({ err: { name: (err as Error)?.name, message: (err as Error)?.message } }, 'start-up failed');
  process.exit(1);
}
