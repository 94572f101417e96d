// Builds the Mini App when its build is missing or older than its sources, so that `pnpm start`
// serves the current app without rebuilding on every start.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const app = fileURLToPath(new URL('../apps/miniapp/', import.meta.url));
const built = path.join(app, 'dist', 'index.html');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

const sources = Math.max(
  newest(path.join(app, 'src')),
  statSync(path.join(app, 'index.html')).mtimeMs,
  statSync(path.join(app, 'vite.config.ts')).mtimeMs,
);
if (!existsSync(built) || statSync(built).mtimeMs < sources) {
  console.log('Building the Mini App…');
  execFileSync(process.execPath, [path.join(app, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: app,
    stdio: 'inherit',
    // A production build whoever asks: Vite keeps an inherited NODE_ENV (vitest sets `test`), which
    // would ship React's development build.
    env: { ...process.env, NODE_ENV: 'production' },
  });
}
