import { test, expect, Page, chromium } from '@playwright/test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ADMIN, ADMIN_STATE, SAME_ORIGIN } from '../global-setup';

// Every page of the dashboard, as a user drives it, against the real server
// (scripts/test.sh starts it with the built-in demo store, 600 products, its
// random changes off, polled every second).

type Sample = { product_id: number; variant_id: number; title: string; size: string; price: string; available: boolean };

async function samples(page: Page): Promise<Sample[]> {
  const res = await page.request.get('/demo/control/state');
  expect(res.ok()).toBeTruthy();
  return (await res.json()).sample_variants as Sample[];
}

async function live(page: Page) {
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live');
}

async function shots(page: Page, name: string) {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.screenshot({ path: `artifacts/${name}-desktop.png` });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `artifacts/${name}-phone.png` });
  // Usable at phone width: nothing wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} scrolls sideways at phone width`).toBeLessThanOrEqual(1);
  await page.setViewportSize({ width: 1440, height: 900 });
}

test('search and filters narrow the grid, live in the URL, and survive a reload', async ({ page }) => {
  await page.goto('/');
  await live(page);
  const total = Number(await page.getByTestId('product-count').textContent());
  const word = (await samples(page))[0].title.split(/\s+/)[0];

  await page.getByLabel('Search').fill(word);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(new RegExp(`[?&]q=${encodeURIComponent(word)}`));
  await expect
    .poll(async () => Number(await page.getByTestId('product-count').textContent()))
    .toBeLessThan(total);
  const matched = Number(await page.getByTestId('product-count').textContent());
  expect(matched).toBeGreaterThan(0);
  for (const title of await page.locator('[data-testid="product"] h3').allTextContents()) {
    expect(title.toLowerCase()).toContain(word.toLowerCase());
  }

  // Brand filter plus in-stock only: every card says so.
  await page.goto('/');
  const brand = (await page.locator('[data-testid="product"] .brand').first().textContent())!.split(' · ')[0];
  await page.getByLabel('Brand').selectOption(brand);
  await page.getByLabel('In stock only').check();
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/in_stock=1/);
  await expect(page.getByTestId('product-count')).not.toHaveText(String(total));
  const cards = page.locator('[data-testid="product"]');
  await expect(cards.first()).toBeVisible();
  for (const b of await cards.locator('.brand').allTextContents()) expect(b.startsWith(brand)).toBeTruthy();
  for (const s of await cards.getByTestId('sizes').allTextContents()) expect(s).toContain('In stock');

  // A bookmarked view opens the same way, server-rendered.
  const url = page.url();
  const html = await (await page.request.get(url)).text();
  expect(html).toContain(`value="${brand}" selected`);
  await page.goto(url);
  await expect(page.getByLabel('In stock only')).toBeChecked();

  // Price sort: ascending prices.
  await page.goto('/?sort=price_asc');
  const prices = (await page.getByTestId('price').allTextContents()).map((t) => parseFloat(t));
  expect(prices.length).toBeGreaterThan(10);
  expect([...prices].sort((a, b) => a - b)).toEqual(prices);

  // Paging: 600 products, 60 a page.
  await page.goto('/');
  await page.getByRole('link', { name: 'Next →' }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.getByText(/Page 2 of \d+/)).toBeVisible();
  await shots(page, 'dashboard');
});

test('a product page shows sizes, a chart that reads out on hover, and updates live', async ({ page }) => {
  const s = (await samples(page))[1];
  await page.goto(`/?q=${encodeURIComponent(s.title)}`);
  await page.locator(`[data-testid="product"][data-key="demo:${s.product_id}"] h3 a`).click();
  await expect(page).toHaveURL(new RegExp(`/product/demo:${s.product_id}$`));
  await live(page);
  await page.evaluate(() => ((window as any).__noReload = true));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(s.title);
  await expect(page.getByTestId('sizes-table').locator('tbody tr')).not.toHaveCount(0);
  await expect(page.getByRole('link', { name: /View in the store/ })).toHaveAttribute('href', /\/products\//);
  const points = page.getByTestId('chart-point');
  const before = await points.count();
  expect(before).toBeGreaterThanOrEqual(1);

  const newPrice = (Number(s.price) - 11.11).toFixed(2);
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, price: newPrice } });
  const row = page.locator(`[data-variant="${s.variant_id}"]`);
  await expect(row.getByTestId('variant-price')).toContainText(newPrice);
  await expect(points).toHaveCount(before + 1);
  await expect(page.getByTestId('product-changes')).toContainText(`-> ${newPrice} USD`);
  await points.last().hover();
  // In the browser's zone once hydrated (UTC only in the server's render).
  await expect(page.getByTestId('chart-readout')).toContainText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);
  await expect(page.getByTestId('chart-readout')).toContainText(newPrice);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  await shots(page, 'product');

  const missing = await page.request.get('/product/demo:404');
  expect(missing.status()).toBe(404);
  expect(await missing.text()).toContain('No such product');
});

test('a source is added through the form, checked now, and its progress reaches 100%', async ({ page, baseURL }) => {
  await page.goto('/sources');
  await live(page);
  const form = page.getByTestId('add-source');

  // Validation: the message sits next to the field, nothing is added.
  await form.getByLabel('Store address').fill('ftp://example.com/');
  await form.getByLabel('Check every').fill('1h');
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(page.locator('#url-error')).toContainText('http');
  await form.getByLabel('Store address').fill('http://example.com/');
  await form.getByLabel('Check every').fill('soon');
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(page.locator('#interval-error')).toContainText('not an interval');
  await expect(page.getByTestId('source')).toHaveCount(1);

  // The same demo store under another host name is another source; it is
  // polled at the default politeness (1 request a second), so a run of its
  // 4 pages takes a few seconds.
  const other = baseURL!.replace('127.0.0.1', 'localhost') + '/demo';
  await form.getByLabel('Store address').fill(other);
  await form.getByLabel('Name').fill('Second demo');
  await form.getByLabel('Check every').fill('1h');
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(form.getByRole('status')).toContainText('Added');
  const card = page.getByTestId('source').filter({ hasText: 'Second demo' });
  await expect(card).toBeVisible();
  // Its first run (started when it was added) finishes.
  await expect(card.getByTestId('progress-text')).toContainText('Last check done: 600 products', { timeout: 30_000 });

  // "Check now": the bar moves through the pages to 100%.
  await card.getByRole('button', { name: 'Check now' }).click();
  const seen = new Set<number>();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    seen.add(Number(await card.getByTestId('progress').getAttribute('value')));
    const text = await card.getByTestId('progress-text').textContent();
    if (seen.size > 1 && text!.startsWith('100%')) break;
    await page.waitForTimeout(100);
  }
  expect([...seen].some((v) => v > 0 && v < 100), `progress seen: ${[...seen]}`).toBeTruthy();
  await expect(card.getByTestId('progress-text')).toContainText('100% · Last check done');
  await expect(card.locator('details.runs tbody tr')).toHaveCount(2);

  // Pause and resume, in words as well as colour.
  await card.getByRole('button', { name: 'Pause' }).click();
  await expect(card.getByTestId('source-state')).toHaveText('Paused');
  await card.getByRole('button', { name: 'Resume' }).click();
  await expect(card.getByTestId('source-state')).toHaveText('Watching');
  await shots(page, 'sources');

  // Remove it again (the products it found stay in the store's history).
  await card.getByText('Remove…').click();
  await card.getByRole('button', { name: 'Remove source' }).click();
  await expect(page.getByTestId('source')).toHaveCount(1);
});

test('the sources forms work before the wasm loads (plain form posts)', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL, storageState: ADMIN_STATE });
  const page = await context.newPage();
  await page.goto('/sources');
  const form = page.getByTestId('add-source');
  const url = baseURL!.replace('127.0.0.1', 'localhost') + '/demo/nojs';
  // A mistake comes back next to its field, with what was typed kept.
  await form.getByLabel('Store address').fill(url);
  await form.getByLabel('Check every').fill('whenever');
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(page.locator('#interval-error')).toContainText('not an interval');
  await expect(form.getByLabel('Store address')).toHaveValue(url);
  await expect(page.getByTestId('source').filter({ hasText: 'No-JS demo' })).toHaveCount(0);

  await form.getByLabel('Store address').fill(url);
  await form.getByLabel('Name').fill('No-JS demo');
  await form.getByLabel('Check every').fill('1h');
  await form.getByRole('button', { name: 'Add source' }).click();
  // The server function answers the plain POST by sending the browser back.
  await expect(page).toHaveURL(/\/sources\??$/);
  const card = page.getByTestId('source').filter({ hasText: 'No-JS demo' });
  await expect(card).toHaveCount(1);
  await card.getByText('Remove…').click();
  await card.getByRole('button', { name: 'Remove source' }).click();
  await expect(page).toHaveURL(/\/sources\??$/);
  await expect(page.getByTestId('source').filter({ hasText: 'No-JS demo' })).toHaveCount(0);
  await context.close();
});

test('the status page shows each host and the poller', async ({ page }) => {
  await page.goto('/status');
  await live(page);
  await expect(page.getByTestId('poller-summary')).toContainText('products tracked');
  const host = page.getByTestId('hosts').locator('tr', { hasText: '127.0.0.1' });
  await expect(host).toContainText('OK');
  await shots(page, 'status');
});

test('a password-protected store says so on the sources and status pages, and recovers', async ({ page }) => {
  await page.goto('/sources');
  await live(page);
  const state = page.getByTestId('source').filter({ hasText: 'Demo store' }).getByTestId('source-state');
  await expect(state).toHaveText('Watching');
  try {
    await page.request.post('/demo/control/fault', { headers: SAME_ORIGIN, data: { kind: '401' } });
    await expect(state).toContainText('Blocked');
    await expect(state).toContainText('password protected');
    await page.goto('/status');
    await expect(page.getByTestId('errors')).toContainText('The store is password-protected');
  } finally {
    await page.request.delete('/demo/control/fault', { headers: SAME_ORIGIN });
  }
  await page.goto('/sources');
  await expect(state).toHaveText('Watching');
});

test('after a dropped socket, a change made meanwhile appears exactly once', async ({ page }) => {
  let socket: any = null;
  let hold: Promise<void> | null = null;
  await page.routeWebSocket(/\/api\/live/, async (ws) => {
    if (hold) await hold; // the reconnect waits until the test lets it through
    ws.connectToServer();
    socket = ws;
  });
  await page.goto('/');
  await live(page);
  const s = (await samples(page))[2];

  let release!: () => void;
  hold = new Promise<void>((r) => (release = r));
  await socket.close();
  await expect(page.locator('.connection')).toHaveAttribute('data-state', /reconnecting|offline|connecting/);
  const newPrice = (Number(s.price) + 7.77).toFixed(2);
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, price: newPrice } });
  // Let a poll (every second) see it while the page is disconnected.
  await page.waitForTimeout(2500);
  const feed = page.getByTestId('feed');
  await expect(feed).not.toContainText(`-> ${newPrice} USD`);
  release();
  await live(page);
  await expect(feed.locator('.event', { hasText: `-> ${newPrice} USD` })).toHaveCount(1);
  await page.waitForTimeout(1500);
  await expect(feed.locator('.event', { hasText: `-> ${newPrice} USD` })).toHaveCount(1);
});

test('Dropwatch is an installable app with a service worker that controls the page', async ({ page, baseURL }) => {
  const manifest = await (await page.request.get('/manifest.webmanifest')).json();
  expect(manifest.name).toBe('Dropwatch');
  expect(manifest.display).toBe('standalone');
  expect(manifest.start_url).toBe('/');
  expect(manifest.theme_color).toMatch(/^#/);
  const sizes = manifest.icons.map((i: any) => `${i.sizes}:${i.purpose}`);
  expect(sizes).toEqual(expect.arrayContaining(['192x192:any', '512x512:any', '512x512:maskable']));
  for (const icon of manifest.icons) {
    const r = await page.request.get(icon.src);
    expect(r.headers()['content-type']).toBe('image/png');
  }

  await page.goto('/');
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);

  // Chromium's own installability check (it needs a real profile: a test's
  // default context is incognito, where nothing installs).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropwatch-pwa-'));
  const persistent = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-sync', '--no-first-run'],
  });
  try {
    const p = await persistent.newPage();
    await p.goto(baseURL!);
    await p.getByLabel('User name').fill(ADMIN.name);
    await p.getByLabel('Password').fill(ADMIN.password);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await expect(p.getByTestId('who')).toHaveText(/admin/);
    await p.evaluate(() => navigator.serviceWorker.ready);
    await p.reload();
    const cdp = await persistent.newCDPSession(p);
    await expect
      .poll(async () => (await cdp.send('Page.getInstallabilityErrors')).installabilityErrors, { timeout: 15_000 })
      .toEqual([]);
  } finally {
    await persistent.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // Offline: a page opened before comes from the cache; a new one shows the offline page.
  await page.context().setOffline(true);
  await page.goto('/status').catch(() => {});
  await expect(page.locator('body')).toContainText(/offline/i);
  await page.context().setOffline(false);
});
