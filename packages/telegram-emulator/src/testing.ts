import type { RunningTelegramEmulator } from './server.ts';

/**
 * One call to the control API (`/_telegram…`, JSON): its status and parsed body. What a person
 * does in Telegram (pay, cancel in settings, run out of Stars, block the bot) and the clock.
 */
export async function telegramControl(
  emulator: Pick<RunningTelegramEmulator, 'url'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emulator.url}/_telegram${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}
