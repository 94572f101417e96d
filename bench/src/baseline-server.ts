import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { serveStats } from './child.ts';

// The baseline: raw node:http, jsonwebtoken with a KeyObject, one pg select by primary key, ~200
// bytes of JSON. The same work our endpoint does, with nothing else.
const key = createSecretKey(Buffer.from(process.env.JWT_SECRET as string));
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });

const server = createServer(async (req, res) => {
  try {
    const token = (req.headers.authorization ?? '').slice(7);
    const claims = jwt.verify(token, key, { algorithms: ['HS256'], issuer: 'miniapp-billing', audience: 'miniapp-billing' }) as {
      sub: string;
    };
    const { rows } = await pool.query('select id, name, email, telegram_id, created_at from users where id = $1', [claims.sub]);
    const user = rows[0];
    if (!user) {
      res.writeHead(401).end();
      return;
    }
    const body = JSON.stringify({
      tier: 'free',
      status: 'inactive',
      user_id: user.id,
      name: user.name,
      email: user.email,
      telegram_id: user.telegram_id,
      since: user.created_at,
      current_period_end: null,
      price_usd_monthly: 0,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  } catch {
    res.writeHead(401).end();
  }
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port }));
serveStats();
