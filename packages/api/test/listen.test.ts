import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { canShareListenPort, listenShared } from '../src/http/listen.ts';
import { startTestServer } from './helpers.ts';

/** The kernel's own count of listening TCP sockets on a port (this process's network namespace). */
function listeners(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/self/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => {
      const [, local, , state] = line.trim().split(/\s+/);
      return local?.endsWith(`:${hex}`) && state === '0A';
    }).length;
}

/** One request on a connection of its own (no agent), answered with the status. */
const get = (port: number) =>
  new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const refused = (port: number) =>
  new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });

describe('listening sockets', () => {
  it('knows which Node.js lines can share a port', () => {
    expect(canShareListenPort('20.20.2', 'linux')).toBe(false);
    expect(canShareListenPort('22.11.0', 'linux')).toBe(false);
    expect(canShareListenPort('22.12.0', 'linux')).toBe(true);
    expect(canShareListenPort('26.12.1', 'linux')).toBe(true);
    expect(canShareListenPort('26.12.1', 'darwin')).toBe(false);
  });

  it('one socket: a plain listener the port cannot be shared with', async () => {
    const http = createServer((_req, res) => res.end('ok'));
    const listening = await listenShared(http, 0, '127.0.0.1', 1);
    expect(listeners(listening.port)).toBe(1);
    const other = createServer();
    await expect(
      new Promise((resolve, reject) => {
        other.once('error', reject);
        other.listen(listening.port, '127.0.0.1', () => resolve('listening'));
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(await get(listening.port)).toBe(200);
    await listening.close();
    expect(await refused(listening.port)).toBe('ECONNREFUSED');
  });

  it('several sockets where Node.js can: every connection, whichever socket took it, is served by the one HTTP server; all close', async () => {
    const http = createServer((_req, res) => res.end('ok'));
    if (!canShareListenPort()) {
      // Node.js without `reusePort` ignores the option: the second socket cannot bind, and the first is
      // closed again (the configuration refuses more than one here: config.test.ts).
      const port = await freePort();
      await expect(listenShared(http, port, '127.0.0.1', 2)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(listeners(port)).toBe(0);
      return;
    }
    let connections = 0;
    http.on('connection', () => connections++);
    const listening = await listenShared(http, 0, '127.0.0.1', 4);
    expect(listeners(listening.port)).toBe(4);
    // Forty new connections at once: the kernel spreads them over the four sockets (all on the first
    // has odds of 4^-39), so a socket whose connections were not handed to the HTTP server would hang.
    const statuses = await Promise.all(Array.from({ length: 40 }, () => get(listening.port)));
    expect(statuses).toEqual(Array(40).fill(200));
    expect(connections).toBe(40);
    await listening.close();
    expect(listeners(listening.port)).toBe(0);
    expect(await refused(listening.port)).toBe('ECONNREFUSED');
  });

  it('the server listens with the configured sockets and closes them all', async () => {
    const t = await startTestServer();
    const expected = canShareListenPort() ? 32 : 1;
    expect(listeners(t.server.port)).toBe(expected);
    expect((await fetch(`${t.base}/healthz`)).status).toBe(200);
    await t.close();
    expect(listeners(t.server.port)).toBe(0);
  });
});
