import { parseEnv, startServer } from '@miniapp-billing/api';
import { serveStats } from './child.ts';

// Our whole stack, exactly as `pnpm start` builds it, on the bench's PostgreSQL database.
const server = await startServer(parseEnv({ ...process.env, PORT: '0', LOG_LEVEL: 'warn' }));
process.send?.({ type: 'ready', port: server.port });
serveStats();
process.on('SIGTERM', async () => {
  await server.close();
  process.exit(0);
});
