import { createHash, randomBytes } from 'node:crypto';

// `pnpm service-token <name> <read|admin>`: a new token for another service. The token is printed
// once, for that service; the API keeps only its SHA-256, in SERVICE_TOKENS (comma-separated).
const [name, scope] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9_-]{0,62}$/.test(name) || (scope !== 'read' && scope !== 'admin')) {
  console.error('usage: pnpm service-token <name: lowercase letters, digits, _ and -> <read|admin>');
  process.exit(1);
}
const token = `svc_${randomBytes(32).toString('base64url')}`;
const hash = createHash('sha256').update(token).digest('hex');
console.log(`token (give it to the service; it is not kept anywhere): ${token}`);
console.log(`SERVICE_TOKENS entry: ${name}:${scope}:${hash}`);
