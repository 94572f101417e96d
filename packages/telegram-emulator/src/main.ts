import { startTelegramEmulator } from './index.ts';

// The standalone Telegram emulator (`pnpm --filter @miniapp-billing/telegram-emulator start`):
//   TELEGRAM_EMULATOR_PORT  port to listen on (default 12112)
//   TELEGRAM_BOT_TOKEN      the one bot's token (<bot id>:<secret>); a fixed demo token when unset
const port = Number(process.env.TELEGRAM_EMULATOR_PORT ?? 12112);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`TELEGRAM_EMULATOR_PORT must be a port number, got "${process.env.TELEGRAM_EMULATOR_PORT}"`);
  process.exit(1);
}
const emulator = await startTelegramEmulator({
  port,
  ...(process.env.TELEGRAM_BOT_TOKEN ? { token: process.env.TELEGRAM_BOT_TOKEN } : {}),
});
console.log(`Telegram emulator on ${emulator.url} (Bot API root; control API at /_telegram, invoice pages at /invoice/{slug})`);
