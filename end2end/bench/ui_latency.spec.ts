import { test, expect } from '@playwright/test';
import * as fs from 'fs';
import { SAME_ORIGIN } from '../global-setup';

// How long a change takes to reach the page. For each of N price changes made
// through the demo store's control API, the page records (with a
// MutationObserver on the live feed) when the event's item entered the DOM.
// Two figures: from the poll that saw the change (the event's own timestamp,
// taken when the poller detected it) to the DOM, and from the control call to
// the DOM (which includes waiting for the next poll, up to one interval).

const N = Number(process.env.CHANGES ?? 100);

function pct(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

test('change -> DOM latency', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live');
  await page.evaluate(() => {
    (window as any).__seen = {};
    new MutationObserver((records) => {
      const now = performance.timeOrigin + performance.now();
      for (const r of records)
        r.addedNodes.forEach((n) => {
          const el = n as HTMLElement;
          if (el.dataset?.kind === 'price_changed') {
            const text = el.querySelector('.what')?.textContent ?? '';
            const at = Date.parse(el.querySelector('time')!.getAttribute('datetime')!);
            (window as any).__seen[text.split('-> ')[1]] = { at, now };
          }
        });
    }).observe(document.querySelector('[data-testid="feed"]')!, { childList: true });
  });
  const state = await (await page.request.get('/demo/control/state')).json();
  const variants = state.sample_variants;
  const afterPoll: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < N; i++) {
    const v = variants[i % variants.length];
    const price = (1000 + i + Math.random()).toFixed(2);
    const t0 = Date.now();
    const r = await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: v.variant_id, price } });
    expect(r.status()).toBe(204);
    const key = `${price} USD`;
    await page.waitForFunction((k) => (window as any).__seen[k], key, { timeout: 15_000 });
    const seen = await page.evaluate((k) => (window as any).__seen[k], key);
    afterPoll.push(seen.now - seen.at);
    total.push(seen.now - t0);
  }
  afterPoll.sort((a, b) => a - b);
  total.sort((a, b) => a - b);
  const figures = {
    changes: N,
    after_poll_ms: { p50: pct(afterPoll, 50), p99: pct(afterPoll, 99), max: afterPoll[afterPoll.length - 1] },
    from_change_ms: { p50: pct(total, 50), p99: pct(total, 99), max: total[total.length - 1] },
  };
  fs.mkdirSync('artifacts', { recursive: true });
  fs.writeFileSync('artifacts/ui-latency.json', JSON.stringify(figures, null, 2));
  console.log(`ui latency over ${N} changes: ${JSON.stringify(figures)}`);
});
