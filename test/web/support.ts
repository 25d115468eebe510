/** Helpers for the web client tests: build the bundle, drive Debian's Chromium with playwright-core. */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { startTestServer } from '../support/harness.js';

export const WEB_DIR = fileURLToPath(new URL('../../packages/web', import.meta.url));
const VITE_BIN = fileURLToPath(new URL('../../node_modules/vite/bin/vite.js', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';

/** Build the web client into `outDir` with the project's Vite config (as `npm run build -w @parley/web` does). */
export function buildWebClient(outDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITE_BIN, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: WEB_DIR,
      // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(outDir) : reject(new Error(`vite build failed (${code}):\n${output}`))));
  });
}

/** `args` adds Chromium switches, e.g. DIRECT_SESSION_ARGS for WebRTC on this machine. */
export function launchChromium(args: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Containers often have a tiny /dev/shm; Chromium then crashes without this.
      '--disable-dev-shm-usage',
      ...args,
    ],
  });
}

/**
 * WebRTC between this browser and a process on the same machine, with no network: host
 * candidates with their real addresses (not mDNS names, which werift cannot resolve), loopback too.
 */
/**
 * What most web tests start with: the bundle built into `dir`, a server on loopback serving it with
 * its data in `dir`, and Chromium. `close` stops both and removes `dir`.
 */
export async function startWebRig(dir: { path: string; remove(): void }): Promise<{ url: string; browser: Browser; close(): Promise<void> }> {
  const webRoot = join(dir.path, 'dist');
  await buildWebClient(webRoot);
  const server = await startTestServer({ dataDir: join(dir.path, 'data'), webRoot });
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (error) {
    await server.close();
    throw error;
  }
  const close = async () => {
    await browser.close();
    await server.close();
    dir.remove();
  };
  return { url: server.url, browser, close };
}

export const DIRECT_SESSION_ARGS = ['--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection'];

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 375, height: 740 } as const;

/** A fresh browser profile (its own IndexedDB), as a second person on another machine would have. */
export async function openClient(browser: Browser, url: string, viewport: { width: number; height: number } = DESKTOP): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (error) => process.stderr.write(`[browser ${url}] ${error.message}\n`));
  await page.goto(url);
  return { context, page };
}

/** Screenshots go to docs/screenshots with PARLEY_UPDATE_SCREENSHOTS=1, else to test-results (ignored by git). */
export const SCREENSHOT_DIR = process.env.PARLEY_UPDATE_SCREENSHOTS ? join(REPO, 'docs', 'screenshots') : join(REPO, 'test-results', 'screenshots');
/** Measurements the tests record but do not assert (timing assertions would be flaky). */
export const RESULTS_DIR = join(REPO, 'test-results');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // Let fonts and the caret settle so the image shows the screen, not a transition.
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), animations: 'disabled', caret: 'hide' });
}

export async function register(page: Page, username: string, password: string, options: { beforeSubmit?(): Promise<void>; onRecoveryScreen?(): Promise<void> } = {}): Promise<string> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await options.beforeSubmit?.();
  await page.getByRole('button', { name: 'Create account' }).click();
  const key = page.getByLabel('Recovery key', { exact: true });
  await key.waitFor({ timeout: 30_000 });
  const recoveryKey = (await key.textContent()) ?? '';
  await options.onRecoveryScreen?.();
  await page.getByLabel('I have saved my recovery key').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('button', { name: 'New chat' }).waitFor();
  return recoveryKey;
}

export async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

export function conversationList(page: Page): Locator {
  return page.getByRole('navigation', { name: 'Conversations' });
}

/**
 * The conversation's entry in the list: its accessible name is "NAME" or "NAME (group)", then
 * ", verified" or ", key changed" for a direct chat, then ", N unread".
 */
export function conversationEntry(page: Page, name: string, options: { group?: boolean; trust?: 'verified' | 'key changed' | 'none'; unread?: number } = {}): Locator {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const trust = options.trust === undefined ? '(, verified|, key changed)?' : options.trust === 'none' ? '' : `, ${options.trust}`;
  const unread = options.unread === undefined ? '(, \\d+ unread)?' : options.unread === 0 ? '' : `, ${options.unread} unread`;
  return conversationList(page).getByRole('button', { name: new RegExp(`^${escaped}${options.group ? ' \\(group\\)' : ''}${trust}${unread}$`) });
}

/** Accepts the message request from `from` (DESIGN §6 consent) once it shows in the Requests section. */
export async function acceptRequest(page: Page, from: string): Promise<void> {
  await page.getByRole('region', { name: 'Message requests' }).getByRole('button', { name: `Accept request from ${from}` }).click({ timeout: 30_000 });
}

export function history(page: Page): Locator {
  return page.getByRole('log', { name: 'History' });
}

export async function send(page: Page, text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  // Exactly "Send": other buttons (Send history) only start with it.
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  // "Sent" once the server numbered it.
  await history(page).getByRole('listitem').filter({ hasText: text }).getByText('Sent', { exact: true }).waitFor({ timeout: 30_000 });
}

export async function startChat(page: Page, username: string): Promise<void> {
  await page.getByRole('button', { name: 'New chat' }).click();
  const dialog = page.getByRole('dialog', { name: 'New chat' });
  await dialog.getByLabel('Username').fill(username);
  await dialog.getByRole('button', { name: 'Start chat' }).click();
  await dialog.waitFor({ state: 'detached' });
}

/** Navigation timing of the page's first load, and when the app was first usable (its own mark). */
export async function pageLoadTiming(page: Page): Promise<{ domContentLoadedMs: number; loadMs: number; interactiveMs: number | undefined; transferredBytes: number }> {
  return page.evaluate(() => {
    const [navigation] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
    const interactive = performance.getEntriesByName('parley:interactive')[0];
    const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
    return {
      domContentLoadedMs: Math.round(navigation?.domContentLoadedEventEnd ?? -1),
      loadMs: Math.round(navigation?.loadEventEnd ?? -1),
      interactiveMs: interactive ? Math.round(interactive.startTime) : undefined,
      transferredBytes: (navigation?.transferSize ?? 0) + resources.reduce((sum, r) => sum + r.transferSize, 0),
    };
  });
}
