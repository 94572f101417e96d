import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Builds the Mini App once for every browser test file, exactly as `pnpm start` would. */
export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../../scripts/ensure-miniapp-build.mjs', import.meta.url))], {
    stdio: 'inherit',
  });
}
