import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Debian's package puts its Chromium here. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';
/**
 * A Chromium shipped inside an npm registry package (brotli-packed, with the libraries it needs),
 * for machines where Debian's package cannot be installed. Pinned: the browser is part of the test.
 */
const NPM_CHROMIUM = '@sparticuz/chromium@153.0.0';
const NPM_CACHE = fileURLToPath(new URL('../node_modules/.cache/npm-chromium/', import.meta.url));

export interface ChromiumChoice {
  executablePath: string;
  /** What was done to get it, when anything was: one line for the test log. */
  provided?: string;
  /** Extra environment the binary needs (the npm build's bundled libraries). */
  env?: Record<string, string>;
}

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs a command quietly; its error output is kept for the one error message a failure gives. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' / ');
    throw new Error(`${command} ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`);
  }
}

function installDebianChromium(): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], env);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], env);
}

async function npmChromium(): Promise<ChromiumChoice> {
  mkdirSync(NPM_CACHE, { recursive: true });
  const require = createRequire(path.join(NPM_CACHE, 'index.js'));
  let resolved: string | undefined;
  try {
    resolved = require.resolve('@sparticuz/chromium');
  } catch {
    run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', NPM_CACHE, NPM_CHROMIUM]);
    resolved = require.resolve('@sparticuz/chromium');
  }
  const mod = (await import(pathToFileURL(resolved).href)) as {
    default: { executablePath(): Promise<string> };
    inflate(file: string): Promise<string>;
  };
  const executablePath = await mod.default.executablePath();
  // The package unpacks its own shared libraries only on Amazon Linux; elsewhere they are unpacked
  // here and handed to the browser (libnss3 and friends are not on a machine without Chromium).
  const bin = path.join(path.dirname(resolved), '..', 'bin');
  const libs = path.join(await mod.inflate(path.join(bin, 'al2023.tar.br')), 'lib');
  return {
    executablePath,
    provided: `Chromium was missing: unpacked ${NPM_CHROMIUM} from the npm registry (${executablePath})`,
    env: { LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') },
  };
}

/**
 * Finds the Chromium the browser tests drive: `CHROMIUM_PATH`, then Debian's `/usr/bin/chromium`.
 * When there is none it provides one — Debian's package when running as root with apt, else the
 * npm-packaged build — and says so in `provided`. Throws one error naming what failed.
 */
export async function ensureChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumChoice> {
  const configured = env.CHROMIUM_PATH;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH is set to ${configured}, which does not exist`);
    return { executablePath: configured };
  }
  if (existsSync(DEBIAN_CHROMIUM)) return { executablePath: DEBIAN_CHROMIUM };
  const root = process.getuid?.() === 0;
  const failures: string[] = [];
  if (env.CHROMIUM_PROVIDER !== 'npm' && root && onPath('apt-get')) {
    try {
      installDebianChromium();
      if (existsSync(DEBIAN_CHROMIUM))
        return {
          executablePath: DEBIAN_CHROMIUM,
          provided: `Chromium was missing: installed Debian's chromium package with apt-get (${DEBIAN_CHROMIUM})`,
        };
      failures.push(`apt-get install chromium finished but ${DEBIAN_CHROMIUM} is absent`);
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  try {
    return await npmChromium();
  } catch (err) {
    failures.push(`${NPM_CHROMIUM}: ${(err as Error).message}`);
  }
  throw new Error(`No Chromium for the browser tests. Set CHROMIUM_PATH, or install Debian's chromium. Tried: ${failures.join('; ')}`);
}
