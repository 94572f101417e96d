import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `pnpm start` (the demo, as a newcomer runs it) on a port and its next two (the emulators), in its
 * own process group so that stopping it stops all of it. Loopback only.
 */
export function spawnDemo(port: number, dataDir: string): ChildProcess {
  return spawn('pnpm', ['start'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      STRIPE_EMULATOR_PORT: String(port + 1),
      TELEGRAM_EMULATOR_PORT: String(port + 2),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
    detached: true,
  });
}

/** Whether the demo on this port answers /readyz 200. */
export const demoReady = (port: number) =>
  fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
    (r) => r.ok,
    () => false,
  );
