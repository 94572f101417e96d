import { startEmulator } from '@miniapp-billing/stripe-emulator';
import { serveStats } from './child.ts';

const emulator = await startEmulator({ port: 0 });
process.send?.({ type: 'ready', port: emulator.port });
serveStats();
