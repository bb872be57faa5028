import { test, expect, Page } from '@playwright/test';
import * as http from 'http';
import { SAME_ORIGIN } from '../global-setup';

// A shop's product page that is sold out and hides its price until the
// restock: added on the Sources page it is tracked (it used to be refused),
// shown as "price not shown" and sold out; when the shop restocks it at a
// price, "Check now" reads it and the open product page and dashboard show
// the price, "In stock" and the restock without a reload. The page is served
// on the port the server trusts (scripts/test.sh: --trust-url
// http://127.0.0.1:<port+2>/), only while this file runs.

const base = new URL(process.env.BASE_URL ?? 'http://127.0.0.1:3300');
const shopPort = Number(base.port) + 2;
// A new page each run: a removed source's products are kept, and a page that
// hides its price shows the last price read, so a rerun against the same
// server must not meet the product of the run before.
const HANDLE = `soldout-labubu-${Date.now().toString(36)}`;
const PAGE_URL = `http://127.0.0.1:${shopPort}/${HANDLE}`;
const TITLE = 'Labubu Big Into Energy';
const NAME = 'Sold-out page';

let restocked = false;
let shop: http.Server;
let sourceKey: string | undefined;

function productHtml(): string {
  const offer = restocked
    ? { '@type': 'Offer', price: '27.99', priceCurrency: 'USD', availability: 'https://schema.org/InStock' }
    : { '@type': 'Offer', price: '', availability: 'https://schema.org/SoldOut' };
  const ld = JSON.stringify({ '@type': 'Product', name: TITLE, offers: offer });
  return `<html><head><meta property="og:title" content="${TITLE}">`
    + `<script type="application/ld+json">${ld}</script></head>`
    + `<body><h1>${TITLE}</h1></body></html>`;
}

test.beforeAll(async () => {
  shop = http.createServer((req, res) => {
    if (req.url !== `/${HANDLE}`) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(productHtml());
  });
  await new Promise<void>((ok) => shop.listen(shopPort, '127.0.0.1', () => ok()));
});

test.afterAll(async ({ request }) => {
  // The test removes its source through the page; should it fail before
  // that, remove it here: other tests count the sources.
  if (sourceKey) {
    await request.delete(`/api/v1/sources/${sourceKey}`, { headers: SAME_ORIGIN });
  }
  await new Promise<void>((ok) => shop.close(() => ok()));
});

async function live(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live');
}

test('a sold-out page without a price is tracked, and its restock at a price shows live', async ({ page, context }) => {
  // Added through the form: tracked, not refused.
  await page.goto('/sources');
  await live(page);
  const form = page.getByTestId('add-source');
  await form.getByLabel('Kind').selectOption('page');
  await form.getByLabel('Store address').fill(PAGE_URL);
  await form.getByLabel('Name').fill(NAME);
  await form.getByLabel('Check every').fill('1h');
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(form.getByRole('status')).toContainText('Added');
  const card = page.getByTestId('source').filter({ hasText: NAME });
  await expect(card).toHaveCount(1);
  sourceKey = (await card.getAttribute('data-key')) ?? undefined;
  expect(sourceKey).toBeTruthy();
  await expect(card.getByTestId('progress-text')).toContainText('Last check done: 1 product', { timeout: 30_000 });

  // The product page: sold out, no price made up.
  const product = await context.newPage();
  const productKey = `${sourceKey}:${HANDLE}`;
  await product.goto(`/product/${productKey}`);
  await live(product);
  await product.evaluate(() => ((window as any).__noReload = true));
  await expect(product.locator('h1')).toHaveText(TITLE);
  await expect(product.getByTestId('price')).toContainText('price not shown');
  const rows = product.getByTestId('sizes-table').locator('tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.locator('th')).toHaveText('One size');
  await expect(rows.getByTestId('variant-price')).toHaveText('price not shown');
  await expect(rows.getByTestId('availability')).toHaveText('✗ Sold out');
  await expect(rows.getByRole('link', { name: /Add to cart/ })).toHaveCount(0);

  // The dashboard, this store only: the same card.
  const dashboard = await context.newPage();
  await dashboard.goto(`/?store=${encodeURIComponent(sourceKey!)}`);
  await live(dashboard);
  await dashboard.evaluate(() => ((window as any).__noReload = true));
  const tile = dashboard.getByTestId('product').filter({ hasText: TITLE });
  await expect(tile).toHaveCount(1);
  await expect(tile.getByTestId('price')).toContainText('price not shown');
  await expect(tile.getByTestId('sizes')).toHaveText('Sold out');
  // The feed is every store's: this product's lines are those linking to it.
  const restock = dashboard.getByTestId('feed').locator('li.event[data-kind=restocked]')
    .filter({ has: dashboard.locator(`a[href="/product/${productKey}"]`) });
  await expect(restock).toHaveCount(0);

  // The shop restocks at a price; "Check now" reads it.
  restocked = true;
  await card.getByRole('button', { name: 'Check now' }).click();
  await expect(card.locator('details.runs tbody tr')).toHaveCount(2, { timeout: 30_000 });
  await expect(card.getByTestId('progress-text')).toContainText(/100% · Last check done: 1 product, 1 change\b/);

  // The open product page follows without a reload.
  await expect(rows.getByTestId('variant-price')).toHaveText('27.99 USD');
  await expect(rows.getByTestId('availability')).toHaveText('✓ In stock');
  await expect(product.getByTestId('price')).toContainText('27.99 USD');
  await expect(product.getByTestId('product-changes')).toContainText('Size One size: restocked');
  expect(await product.evaluate(() => (window as any).__noReload)).toBe(true);

  // So does the dashboard: the restock in the feed, the card in stock.
  await expect(restock).toHaveCount(1);
  await expect(restock).toContainText(`Restocked: ${TITLE} size One size at 27.99 USD`);
  await expect(tile.getByTestId('price')).toContainText('27.99 USD');
  await expect(tile.getByTestId('sizes')).toHaveText('In stock: One size');
  expect(await dashboard.evaluate(() => (window as any).__noReload)).toBe(true);

  // Removed again on the Sources page: the other tests count the sources.
  await card.getByText('Remove…').click();
  await card.getByRole('button', { name: 'Remove source' }).click();
  await expect(page.getByTestId('source').filter({ hasText: NAME })).toHaveCount(0);
  sourceKey = undefined;
});
