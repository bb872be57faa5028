import { test, expect, Page } from '@playwright/test';
import { SAME_ORIGIN } from '../global-setup';

// The server under test runs the built-in demo store at /demo with its own
// random changes off, and polls it every second (see scripts/test.sh).

type Sample = { product_id: number; variant_id: number; title: string; size: string; price: string; available: boolean };

async function demoSample(page: Page): Promise<Sample> {
  const res = await page.request.get('/demo/control/state');
  expect(res.ok()).toBeTruthy();
  const state = await res.json();
  return state.sample_variants[0] as Sample;
}

test('the page renders products on the server, hydrates and goes live', async ({ page }) => {
  // Server-rendered: the products are in the HTML before any script runs.
  const html = await (await page.request.get('/')).text();
  expect(html).toContain('data-testid="product"');

  await page.goto('/');
  await expect(page.getByTestId('product').first()).toBeVisible();
  const count = Number(await page.getByTestId('product-count').textContent());
  expect(count).toBeGreaterThanOrEqual(50);
  // "Live" only shows once the wasm has hydrated and the socket is open.
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live');
  await page.screenshot({ path: 'artifacts/products-desktop.png', fullPage: false });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'artifacts/products-phone.png', fullPage: false });
});

test('a price set in the store appears on the page without a reload', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live');
  // A marker that a reload would wipe.
  await page.evaluate(() => ((window as any).__noReload = true));

  const sample = await demoSample(page);
  const newPrice = (Number(sample.price) + 13.37).toFixed(2);
  const set = await page.request.post('/demo/control/price', {
    headers: SAME_ORIGIN,
    data: { variant_id: sample.variant_id, price: newPrice },
  });
  expect(set.status()).toBe(204);

  const card = page.locator(`[data-testid="product"][data-key="demo:${sample.product_id}"]`);
  await expect(card.getByTestId('price')).toContainText(newPrice);
  await expect(page.getByTestId('feed')).toContainText(`-> ${newPrice} USD`);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
});

test('a restock appears with its size', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live');
  const state = await (await page.request.get('/demo/control/state')).json();
  const v: Sample = state.sample_variants.find((s: Sample) => !s.available);
  expect(v, 'the demo has a sold-out size among its first products').toBeTruthy();
  await page.request.post('/demo/control/availability', { headers: SAME_ORIGIN, data: { variant_id: v.variant_id, available: true } });
  const size = v.size === 'Default Title' ? 'One size' : v.size;
  const item = page
    .locator('[data-testid="feed"] .event[data-kind="restocked"]')
    .filter({ hasText: `${v.title} size ${size}` });
  await expect(item).toHaveCount(1);
  const card = page.locator(`[data-testid="product"][data-key="demo:${v.product_id}"]`);
  await expect(card.getByTestId('sizes')).toContainText(size);
});

test('the socket replays from any sequence number, then goes live, each event once', async ({ page }) => {
  await page.goto('/');
  const health = await (await page.request.get('/healthz')).json();
  const last: number = health.last_seq;
  expect(last).toBeGreaterThan(0);

  // Everything from the start, in order, no gaps, no repeats.
  const all: number[] = await page.evaluate(
    ({ last }) =>
      new Promise<number[]>((resolve, reject) => {
        const seqs: number[] = [];
        const ws = new WebSocket(`ws://${location.host}/api/live?since=0`);
        ws.onmessage = (m) => {
          // Notices (a product's deal) have no seq and are not events.
          const e = JSON.parse(m.data);
          if (e.seq === undefined) return;
          seqs.push(e.seq);
          if (seqs.length >= last) { ws.close(); resolve(seqs); }
        };
        ws.onerror = () => reject(new Error('socket failed'));
        setTimeout(() => reject(new Error(`only ${seqs.length} of ${last} events`)), 20000);
      }),
    { last },
  );
  expect(all.slice(0, last)).toEqual(Array.from({ length: last }, (_, i) => i + 1));

  // Closed while a price changes; reconnecting with the last number gets exactly that change.
  const sample = await demoSample(page);
  const price = (Number(sample.price) + 1.11).toFixed(2);
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: sample.variant_id, price } });
  await expect.poll(async () => (await (await page.request.get('/healthz')).json()).last_seq).toBeGreaterThan(last);
  const resumed = await page.evaluate(
    ({ last }) =>
      new Promise<any[]>((resolve) => {
        const got: any[] = [];
        const ws = new WebSocket(`ws://${location.host}/api/live?since=${last}`);
        ws.onmessage = (m) => {
          const e = JSON.parse(m.data);
          if (e.seq !== undefined) got.push(e);
        };
        setTimeout(() => { ws.close(); resolve(got); }, 2500);
      }),
    { last },
  );
  expect(resumed.map((e) => e.seq)).toEqual(Array.from({ length: resumed.length }, (_, i) => last + 1 + i));
  const change = resumed.find((e) => e.type === 'price_changed' && e.variant.id === String(sample.variant_id));
  expect(change.new_price).toBe(price);
  expect(change.product.key).toBe(`demo:${sample.product_id}`);
});
