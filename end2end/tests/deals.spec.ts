import { test, expect, Page } from '@playwright/test';
import { SAME_ORIGIN } from '../global-setup';

// The deal score as a user meets it: the demo store starts with a year of
// history (written at first start), so the grid shows a score on its cards,
// "Best deals" puts the best first, "At or near its lowest price" keeps only
// those, and a product's page says why, window by window. On a phone the
// badge fits the card.

async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

function score(text: string | null): number {
  const m = /^Deal (\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : -1;
}

/** The grid sorted by best deal, once the year of history has been written
 * and assessed (in the background at first start): the best of a year is a
 * real deal. */
async function bestDeals(page: Page) {
  await expect(async () => {
    await page.goto('/?sort=best_deal');
    // The grid's first card (a signed-in user's "For you" above it has badges too).
    const top = await page.getByTestId('product').getByTestId('deal').first().textContent({ timeout: 1_000 });
    expect(score(top)).toBeGreaterThanOrEqual(80);
  }).toPass({ timeout: 120_000 });
}

test('cards carry a deal score, best deals sort first, and the product page says why', async ({ page }) => {
  await bestDeals(page);
  await hydrated(page);
  const badges = page.getByTestId('product').getByTestId('deal');
  const scores = (await badges.allTextContents()).map(score);
  expect(scores.length).toBeGreaterThan(5);
  // Best first.
  for (let i = 1; i < scores.length; i++) {
    expect(scores[i]).toBeLessThanOrEqual(scores[i - 1]);
  }

  // Only products at or near their lowest price (once every product is
  // assessed on its year).
  const near = page.getByTestId('product');
  await expect(async () => {
    await page.goto('/?near_low=1');
    await expect(near.first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 60_000 });
  const n = await near.count();
  for (let i = 0; i < n; i++) {
    await expect(near.nth(i).getByTestId('deal')).toContainText('near all-time low');
  }

  // The best deal's page: the reason, and the windows it was judged on.
  await page.goto('/?sort=best_deal');
  const first = page.getByTestId('product').first();
  const title = (await first.locator('h3 a').textContent())!.trim();
  await first.locator('h3 a').click();
  await expect(page.locator('h1')).toHaveText(title);
  const panel = page.getByTestId('deal-panel');
  await expect(panel.getByTestId('deal')).toHaveText(/^Deal \d+ · /);
  await expect(panel.getByTestId('deal-reason')).toContainText(/USD now\. Over \d+ days it cost/);
  const rows = panel.getByTestId('deal-windows').locator('tbody tr');
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0).locator('th')).toHaveText('30 days');
  await expect(rows.nth(2).locator('th')).toHaveText('365 days');
});

test('on a phone the deal badge fits its card', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await bestDeals(page);
  const badge = page.getByTestId('product').first().getByTestId('deal');
  await expect(badge).toBeVisible();
  const card = await page.getByTestId('product').first().boundingBox();
  const box = await badge.boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(card!.x + card!.width + 1);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

test('a rule on the deal score is offered and its value checked', async ({ page }) => {
  await page.goto('/alerts');
  await hydrated(page);
  await page.getByText('New rule', { exact: true }).click();
  const form = page.getByTestId('new-rule');
  await form.getByLabel('When').selectOption('deal_score_at_least');
  await form.locator('input[name=value]').fill('150');
  await form.getByRole('button', { name: 'Add rule' }).click();
  await expect(form.getByText('Give a deal score from 1 to 100, a whole number.')).toBeVisible();
});

type Sample = { product_id: number; variant_id: number; title: string; size: string; price: string; available: boolean };

test('a drop and a restock in the demo store show on /trending and in the dashboard strip', async ({ page }) => {
  const res = await page.request.get('/demo/control/state');
  const samples = (await res.json()).sample_variants as Sample[];
  // A product no other spec changes (they use the first, the middle and the
  // last of the demo's sample products): one of the 7th to 9th with two
  // sizes, one in stock.
  const ids = [...new Set(samples.map((s) => s.product_id))];
  const mine = ids
    .slice(6, 9)
    .map((id) => samples.filter((s) => s.product_id === id))
    .find((sizes) => sizes.length >= 2 && sizes.some((s) => s.available))!;
  const drop = mine.find((s) => s.available)!;
  const restock = mine.find((s) => s.variant_id !== drop.variant_id)!;
  // A 40 % drop, and a size that sells out and comes back.
  const lower = (Number(drop.price) * 0.6).toFixed(2);
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: drop.variant_id, price: lower } });
  await page.request.post('/demo/control/availability', { headers: SAME_ORIGIN, data: { variant_id: restock.variant_id, available: false } });
  await expect.poll(async () => {
    const r = await page.request.get(`/api/v1/products/demo:${restock.product_id}`);
    const p = await r.json();
    return p.variants.find((v: { id: string }) => v.id === String(restock.variant_id))?.available;
  }, { timeout: 20_000 }).toBe(false);
  await page.request.post('/demo/control/availability', { headers: SAME_ORIGIN, data: { variant_id: restock.variant_id, available: true } });

  await expect(async () => {
    await page.goto('/trending');
    await expect(page.getByTestId('trend-drops')).toContainText(drop.title, { timeout: 1_000 });
    await expect(page.getByTestId('trend-restocks')).toContainText(restock.title, { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByTestId('trend-drops').locator('li').filter({ hasText: drop.title }).first()).toContainText('−40%');

  // The week includes the day; one store narrows it.
  await page.getByLabel('Over the').selectOption('7d');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/window=7d/);
  await expect(page.getByTestId('trend-drops')).toContainText(drop.title);

  // The dashboard's strip links here.
  await page.goto('/');
  const strip = page.getByTestId('trending-strip');
  await expect(strip).toBeVisible();
  await strip.getByRole('link', { name: 'All trending →' }).click();
  await expect(page.locator('h1')).toHaveText('Trending');
});

type Summary = { key: string; title: string; sizes_in_stock: string[]; deal?: { score: number | null } };

test('a new deal reaches the card and the product page without a reload; the store rhythm is named', async ({ page }) => {
  await bestDeals(page);
  // A product no other spec changes (not one of the demo's sample
  // products), with a year of history, no deal today and a size in stock.
  const samples = (await (await page.request.get('/demo/control/state')).json()).sample_variants as Sample[];
  const taken = new Set(samples.map((s) => `demo:${s.product_id}`));
  let pick: Summary | undefined;
  for (let n = 1; n <= 6 && !pick; n++) {
    const list = (await (await page.request.get(`/api/v1/products?sort=best_deal&page=${n}`)).json()).products as Summary[];
    pick = list.find((p) => !taken.has(p.key) && p.sizes_in_stock.length > 0 && p.deal?.score != null && p.deal.score < 60);
  }
  expect(pick, 'a scored product that is no deal today').toBeTruthy();
  const key = pick!.key;
  const detail = await (await page.request.get(`/api/v1/products/${encodeURIComponent(key)}`)).json();
  const size = detail.variants.find((v: { available: boolean; price: string | null }) => v.available && v.price);
  const original = size.price as string;
  const lowest = Number(detail.deal.all_time.low);

  await page.goto(`/?q=${encodeURIComponent(pick!.title)}`);
  await hydrated(page);
  const card = page.locator(`[data-testid=product][data-key="${key}"]`);
  const badge = card.getByTestId('deal');
  await expect(badge).toBeVisible();
  expect(score(await badge.textContent())).toBeLessThan(60);
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));

  // Half the lowest price it ever had, in any size.
  const low = (lowest / 2).toFixed(2);
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: Number(size.id), price: low } });
  await expect(badge).toContainText('near all-time low', { timeout: 20_000 });
  expect(score(await badge.textContent())).toBeGreaterThanOrEqual(90);
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);

  // The product page's panel follows the price back up.
  await page.goto(`/product/${encodeURIComponent(key)}`);
  await hydrated(page);
  const panel = page.getByTestId('deal-panel').getByTestId('deal');
  await expect(panel).toContainText('near all-time low');
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: Number(size.id), price: original } });
  await expect(panel).not.toContainText('near all-time low', { timeout: 20_000 });
  expect(score(await panel.textContent())).toBeLessThan(90);

  // The demo store restocks on Thursdays; a sold-out size's window names one.
  await expect(page.getByTestId('store-rhythm')).toContainText('This store restocks most on Thursdays');
  for (const text of await page.getByTestId('restock').allTextContents()) {
    if (text.includes('Likely')) expect(text).toMatch(/Likely Thu \d+ \w+ around \d\d:00 UTC/);
  }
});
