/**
 * Debian's Chromium driven by playwright-core (no downloaded browsers): a fresh profile per run,
 * every console error, page error and failed request recorded so a journey can assert there were
 * none (except the ones it provoked on purpose).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Browser {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught page errors and HTTP answers ≥ 400 seen so far. */
  problems: string[];
  /** Requests to URLs matching this are expected to fail (the journey provokes them). */
  expectFailure(pattern: RegExp): void;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openBrowser(artifactsDir: string): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'tributary-chromium-'));
  mkdirSync(artifactsDir, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  const expected: RegExp[] = [];
  const isExpected = (url: string) => expected.some((p) => p.test(url));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (/Failed to load resource/.test(m.text()) && isExpected(m.location().url)) return;
    problems.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !isExpected(r.url())) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  return {
    page,
    context,
    problems,
    expectFailure: (p) => expected.push(p),
    async screenshot(name) {
      const file = path.join(artifactsDir, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
