import { test, expect } from '@playwright/test';
import * as fs from 'fs';
import { SAME_ORIGIN } from '../global-setup';

// How long a source price change takes to show as a proposal on the open
// Repricing page. The demo shop is connected and N sizes are linked (REST);
// for each of N price changes made through the demo store, the page records
// (MutationObserver) when the proposal's row entered the DOM. Two figures:
// from the proposal being stored (its `created`, in the row) to the DOM, and
// from the control call to the DOM (which includes waiting for the next
// poll, up to one interval).

const N = Number(process.env.CHANGES ?? 30);

function pct(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

test('source change -> proposal on screen', async ({ page, baseURL }) => {
  const origin = { Origin: new URL(baseURL!).origin };
  const shop = `${new URL(baseURL!).origin}/demo/shop`;
  let r = await page.request.post('/api/v1/shopify/connect', { headers: origin, data: { domain: shop, token: 'shpat_dropwatch_demo_shop' } });
  expect(r.status()).toBe(200);
  const state = await (await page.request.get('/demo/control/state')).json();
  const variants = state.sample_variants.slice(0, N);
  for (const v of variants) {
    r = await page.request.post('/api/v1/reprice/links', { headers: origin, data: {
      source_product: `demo:${v.product_id}`, source_variant: String(v.variant_id), target: `DW-${v.variant_id}`, markup: { percent: '20' } } });
    expect([201, 422]).toContain(r.status()); // 422: linked by an earlier run
  }
  await page.goto('/repricing');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live');
  await page.evaluate(() => {
    (window as any).__seen = {};
    new MutationObserver(() => {
      const now = performance.timeOrigin + performance.now();
      document.querySelectorAll('tr[data-testid="proposal"]').forEach((tr) => {
        const el = tr as HTMLElement;
        const id = el.dataset.id!;
        if (!(window as any).__seen[id]) (window as any).__seen[id] = { now, created: Number(el.dataset.created), text: el.textContent };
      });
    }).observe(document.querySelector('main')!, { childList: true, subtree: true });
  });
  const afterProposal: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i];
    const price = `${1000 + i}.50`;
    const t0 = Date.now();
    r = await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: v.variant_id, price } });
    expect(r.status()).toBe(204);
    const key = `${price} USD`;
    await page.waitForFunction((k) => Object.values((window as any).__seen).some((s: any) => s.text.includes(k)), key, { timeout: 15_000 });
    const seen: any = await page.evaluate((k) => Object.values((window as any).__seen).find((s: any) => s.text.includes(k)), key);
    afterProposal.push(seen.now - seen.created);
    total.push(seen.now - t0);
  }
  afterProposal.sort((a, b) => a - b);
  total.sort((a, b) => a - b);
  const figures = {
    changes: variants.length,
    proposal_stored_to_dom_ms: { p50: pct(afterProposal, 50), p99: pct(afterProposal, 99), max: afterProposal[afterProposal.length - 1] },
    from_change_ms: { p50: pct(total, 50), p99: pct(total, 99), max: total[total.length - 1] },
  };
  fs.mkdirSync('artifacts', { recursive: true });
  fs.writeFileSync('artifacts/reprice-latency.json', JSON.stringify(figures, null, 2));
  console.log(`reprice latency over ${variants.length} changes: ${JSON.stringify(figures)}`);
});
