import { test, expect, Page } from '@playwright/test';
import { SAME_ORIGIN } from '../global-setup';

// Repricing as a shop owner does it: connect the built-in demo shop (a fake
// Shopify Admin API at /demo/shop speaking the real GraphQL), link a demo
// product's size to a variant of that shop found by search, set a 20 %
// markup, change the source price through the demo store, and press
// "Update Shopify" on the proposal that appears; "done" and the new price
// show without a reload, and the shop has the price.

type Sample = { product_id: number; variant_id: number; title: string; size: string; price: string; available: boolean };

async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

test('link a demo product to the shop with a 20% markup; a source price change is proposed live and "Update Shopify" pushes it', async ({ page }) => {
  await page.goto('/repricing');
  await hydrated(page);
  const status = page.getByTestId('shop-status');
  if (!(await status.textContent())?.includes('Dropwatch Demo Shop')) {
    await page.getByTestId('connect-offered').click();
    await expect(status).toContainText('Connected to Dropwatch Demo Shop');
  }
  // The shop's token is nowhere on the page.
  expect(await page.content()).not.toContain('shpat_dropwatch_demo_shop');

  // A product of the demo (one no other test changes) and one of its sizes.
  const state = await (await page.request.get('/demo/control/state')).json();
  const samples = state.sample_variants as Sample[];
  const s = samples[Math.floor(samples.length / 2)];
  await page.goto(`/product/demo:${s.product_id}`);
  await hydrated(page);
  await page.getByTestId('sell-in-store').click();
  await expect(page).toHaveURL(/\/repricing\?product=demo/);
  await hydrated(page);
  const form = page.getByTestId('link-form');
  await expect(form.getByLabel('Tracked product')).toHaveValue(`demo:${s.product_id}`);
  await form.getByLabel('Size').fill(s.size);

  // A wrong target is said next to the field.
  await form.getByLabel('Your variant').fill('https://admin.shopify.com/store/x/products/1');
  await form.getByLabel('Percent').fill('20');
  await form.getByRole('button', { name: 'Link', exact: true }).click();
  await expect(page.locator('#link-target-error')).toContainText('names no variant');

  // Found in the shop by its SKU, then linked.
  await page.getByText('Find the variant in your store').click();
  await page.getByLabel('Search your store').fill(`sku:DW-${s.variant_id}`);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('.search-results').getByRole('button', { name: 'Use' }).click();
  await expect(form.getByLabel('Your variant')).toHaveValue(`gid://shopify/ProductVariant/${9_000_000 + s.variant_id}`);
  await form.getByLabel('Percent').fill('20');
  await form.getByRole('button', { name: 'Link', exact: true }).click();
  await expect(page.getByText(/^Linked .* proposed/)).toBeVisible();
  const link = page.getByTestId('link').filter({ hasText: s.title });
  await expect(link).toContainText(`size ${s.size}`);
  await expect(link).toContainText('+20 %');
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live');

  // The source price changes: a proposal at +20 % appears without a reload.
  // n.50 * 1.2 = 1.2 n + 0.60: no rounding to argue about.
  const n = Math.floor(Number(s.price)) + 8;
  const newPrice = `${n}.50`;
  const expected = (1.2 * n + 0.6).toFixed(2);
  const r = await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, price: newPrice } });
  expect(r.status()).toBe(204);
  const row = page.getByTestId('proposal').filter({ hasText: `${newPrice} USD` });
  await expect(row).toHaveAttribute('data-state', 'proposed');
  await expect(row.getByTestId('proposed')).toHaveText(expected);
  // The one made when linking was replaced by it.
  await expect(page.getByTestId('proposal').filter({ hasText: s.title }).and(page.locator('[data-state="superseded"]'))).toHaveCount(1);

  // "Update Shopify": done, with the price the shop read back, live.
  await row.getByTestId('update-shopify').click();
  await expect(row).toHaveAttribute('data-state', 'done');
  await expect(row.getByTestId('pushed')).toHaveText(`now ${expected}`);
  await expect(link.getByTestId('target-price')).toHaveText(expected);
  await expect(page.getByText(`Shopify now sells it at ${expected}.`)).toBeVisible();

  // Usable on a phone: the page does not scroll sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  // What sticks out, to name it when it fails.
  const wide = await page.evaluate(() => Array.from(document.querySelectorAll('body *'))
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-scroll'))
    .slice(0, 5).map((e) => `${e.tagName}.${e.className} ${e.textContent?.slice(0, 40)}`));
  expect(overflow, `the repricing page scrolls sideways at phone width: ${wide.join(' | ')}`).toBeLessThanOrEqual(1);
  await page.screenshot({ path: 'artifacts/repricing-phone.png', fullPage: true });
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.screenshot({ path: 'artifacts/repricing-desktop.png', fullPage: true });

  // The shop has it.
  const shop = await (await page.request.get('/demo/shop/admin-control/state')).json();
  expect(shop.variants[`gid://shopify/ProductVariant/${9_000_000 + s.variant_id}`].price).toBe(expected);

  // The push is in the dashboard's live feed and in the audit log.
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByTestId('feed').locator('[data-kind="reprice_pushed"]').first()).toContainText(expected);
  await page.goto('/admin/audit');
  await expect(page.locator('body')).toContainText('reprice.push');
});
