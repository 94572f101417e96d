import type { Server } from 'node:http';
import { createServer, type Server as NetServer } from 'node:net';

/**
 * Whether this Node.js can open several listening sockets on one port (`reusePort`, SO_REUSEPORT with
 * the kernel spreading connections over them): Linux, Node.js 22.12 and later. Elsewhere the option is
 * either ignored (the second socket then fails with EADDRINUSE) or refused.
 */
export function canShareListenPort(version = process.versions.node, platform = process.platform): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return platform === 'linux' && (major > 22 || (major === 22 && minor >= 12));
}

export interface Listening {
  port: number;
  /**
   * Stops accepting on every socket and closes the connections: idle ones at once, the rest when
   * their request is answered or, at the latest, after `graceMs`. Resolves when all are closed.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Listens with `sockets` sockets on one port, all feeding one HTTP server. libuv accepts one
 * connection per listening socket per turn of the event loop, and a turn lasts as long as the work
 * of every connection that is ready, so under load a burst of new connections (fifty webhook
 * deliveries at once) would wait tens of turns to be accepted. With several sockets in one
 * SO_REUSEPORT group the kernel spreads new connections over them and each turn accepts one per
 * socket. The extra sockets hand their connections to the HTTP server (its `connection` event), so
 * its timeouts, keep-alive and connection tracking apply to all of them alike.
 */
export async function listenShared(server: Server, port: number, host: string, sockets: number): Promise<Listening> {
  const shared = sockets > 1;
  await listenOne(server, port, host, shared);
  const bound = (server.address() as { port: number }).port;
  const extra: NetServer[] = [];
  try {
    for (let i = 1; i < sockets; i++) {
      // The HTTP server's own defaults for a connection it accepts itself (Nagle off).
      const s = createServer({ noDelay: true }, (socket) => server.emit('connection', socket));
      extra.push(s);
      await listenOne(s, bound, host, true);
    }
  } catch (err) {
    await Promise.all([server, ...extra].map(closeListener));
    throw err;
  }
  return {
    port: bound,
    close: async (graceMs = 2_000) => {
      // Each listener's close waits for the connections it accepted (the extra ones' included).
      const closed = Promise.all([server, ...extra].map(closeListener));
      server.closeIdleConnections();
      const late = setTimeout(() => server.closeAllConnections(), graceMs);
      late.unref();
      await closed;
      clearTimeout(late);
    },
  };
}

function listenOne(s: NetServer, port: number, host: string, reusePort: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen({ port, host, ...(reusePort ? { reusePort: true } : {}) }, () => {
      s.off('error', reject);
      resolve();
    });
  });
}

function closeListener(s: NetServer): Promise<void> {
  return new Promise((resolve) => {
    if (!s.listening) return resolve();
    s.close(() => resolve());
  });
}
