import { test, expect, Page } from '@playwright/test';
import { SAME_ORIGIN } from '../global-setup';

// A product page of any shop as a source: the demo store's product pages
// carry schema.org JSON-LD (a ProductGroup with a Product per size), as
// shops publish it. Added through the sources form, its sizes and prices
// appear; a price changed in the shop follows on the next check.

type Sample = { product_id: number; variant_id: number; title: string; size: string; price: string; available: boolean };

async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

test('a product page is a source: its sizes and prices appear, and a price change follows', async ({ page }) => {
  const state = await (await page.request.get('/demo/control/state')).json();
  const s = (state.sample_variants as Sample[])[3];
  const tracked = await (await page.request.get(`/api/v1/products/demo:${s.product_id}`)).json();
  const pageUrl: string = tracked.url;
  expect(pageUrl).toContain('/demo/products/');

  await page.goto('/sources');
  await hydrated(page);
  const form = page.getByTestId('add-source');
  await form.getByLabel('Kind').selectOption('page');
  // A selector that is not CSS is said next to its field.
  await form.getByText('Product page: where the price and stock are').click();
  await form.getByLabel('Price selector').fill('span[');
  await form.getByLabel('Store address').fill(pageUrl);
  await form.getByLabel('Name').fill('One page');
  await form.getByLabel('Check every').fill('1h');
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(page.locator('#price-selector-error')).toContainText('not valid CSS');
  await form.getByLabel('Price selector').fill('');
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(form.getByRole('status')).toContainText('Added');
  const card = page.getByTestId('source').filter({ hasText: 'One page' });
  await expect(card).toContainText('page');
  await expect(card.getByTestId('progress-text')).toContainText('Last check done: 1 product', { timeout: 30_000 });

  // The product, with every size of the page and the sample's price.
  const sources = await (await page.request.get('/api/v1/sources')).json();
  const key = (sources as any[]).map((x) => x.source ?? x).find((x) => x.name === 'One page').key;
  const handle = pageUrl.split('/').pop();
  await page.goto(`/product/${key}:${handle}`);
  await hydrated(page);
  await expect(page.locator('h1')).toHaveText(s.title);
  const rows = page.getByTestId('sizes-table').locator('tbody tr');
  await expect(rows).toHaveCount(tracked.variants.length);
  const row = rows.filter({ has: page.getByText(s.size, { exact: true }) });
  await expect(row).toContainText(Number(s.price).toFixed(2));

  // The shop changes the price; "Check now" reads it; the open page follows.
  const newPrice = (Number(s.price) + 11).toFixed(2);
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, price: newPrice } });
  await page.request.post(`/api/v1/sources/${key}/check`, { headers: { Origin: new URL(page.url()).origin } });
  await expect(row).toContainText(newPrice);

  // The catalogue's product and the page's are the same item: both stores
  // show side by side on the product page.
  await page.goto(`/product/demo:${s.product_id}`);
  await hydrated(page);
  const compare = page.getByTestId('compare');
  await expect(compare.getByTestId('offer')).toHaveCount(2);
  await expect(compare).toContainText('One page');
  await expect(compare).toContainText('same brand and model name');
  await expect(compare.locator('[data-cheapest="true"]')).toHaveCount(1);
});

test('a JSON API is a source through a field mapping, previewed before it is added', async ({ page, baseURL }) => {
  // The demo store's products.json read as "any API": items, ids, prices and
  // sizes named by paths.
  const api = `${baseURL}/demo/products.json?limit=250&page=2`;
  await page.goto('/sources');
  await hydrated(page);
  const form = page.getByTestId('add-source');
  await form.getByLabel('Kind').selectOption('json');
  await form.getByLabel('Store address').fill(api);
  await form.getByLabel('Name').fill('Any API');
  await form.getByLabel('Check every').fill('1h');
  await form.getByText('JSON API: headers and field mapping').click();
  // A mapping line that is not "field = path" is said next to the field.
  await form.locator('textarea[name=json_mapping]').fill('items = $.products[*]\nprice /variants/0/price');
  await form.getByTestId('preview').click();
  await expect(page.locator('#json-mapping-error')).toContainText('field = path');
  await form.locator('textarea[name=json_mapping]').fill([
    'items = $.products[*]', 'id = /id', 'title = /title', 'brand = /vendor', 'price = /variants/0/price',
    'variants = /variants', 'variant_id = /id', 'variant_size = /title', 'variant_price = /price', 'variant_stock = /available',
  ].join('\n'));
  await form.getByTestId('preview').click();
  await expect(form.getByRole('status')).toContainText('Preview: 250 items read.');
  // Nothing was added by the preview.
  await expect(page.getByTestId('source').filter({ hasText: 'Any API' })).toHaveCount(0);
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(form.getByRole('status')).toContainText('Added');
  const card = page.getByTestId('source').filter({ hasText: 'Any API' });
  await expect(card.getByTestId('progress-text')).toContainText('Last check done: 250 products', { timeout: 30_000 });
});

test('an address on a private network is refused, and the form says which rule', async ({ page }) => {
  await page.goto('/sources');
  await hydrated(page);
  const form = page.getByTestId('add-source');
  // The cloud metadata service, and this machine under other spellings.
  for (const [address, rule] of [
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://2130706433:8080/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'IPv4 address inside an IPv6'],
  ]) {
    await form.getByLabel('Kind').selectOption('shopify');
    await form.getByLabel('Store address').fill(address);
    await form.getByLabel('Name').fill('Metadata');
    await form.getByRole('button', { name: 'Add source' }).click();
    await expect(page.locator('#url-error')).toContainText(rule);
    await expect(page.locator('#url-error')).toContainText('--allow-private-networks');
  }
  await expect(page.getByTestId('source').filter({ hasText: 'Metadata' })).toHaveCount(0);
});

test('a WooCommerce shop is a source: every size arrives, and a size selling out follows', async ({ page }) => {
  // The demo's boutique answers WooCommerce's Store API (its own catalogue).
  const state = await (await page.request.get('/demo/boutique/control/state')).json();
  const s = (state.sample_variants as Sample[]).find((v) => v.available && v.size !== 'Default Title')!;
  const sizes = (state.sample_variants as Sample[]).filter((v) => v.product_id === s.product_id);

  await page.goto('/sources');
  await hydrated(page);
  const form = page.getByTestId('add-source');
  await form.getByLabel('Kind').selectOption('woocommerce');
  await form.getByLabel('Store address').fill(new URL('/demo/boutique', page.url()).toString());
  await form.getByLabel('Name').fill('Boutique');
  await form.getByLabel('Check every').fill('1h');
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(form.getByRole('status')).toContainText('Added');
  const card = page.getByTestId('source').filter({ hasText: 'Boutique' });
  await expect(card).toContainText('woocommerce');
  await expect(card.getByTestId('progress-text')).toContainText(`Last check done: ${state.products} products`, { timeout: 30_000 });

  const sources = await (await page.request.get('/api/v1/sources')).json();
  const key = (sources as any[]).map((x) => x.source ?? x).find((x) => x.name === 'Boutique').key;
  await page.goto(`/product/${key}:${s.product_id}`);
  await hydrated(page);
  // WooCommerce sends names HTML-escaped (’ for '): shown decoded.
  await expect(page.locator('h1')).toHaveText(s.title.replace(/'/g, '\u2019'));
  const rows = page.getByTestId('sizes-table').locator('tbody tr');
  await expect(rows).toHaveCount(sizes.length);
  const row = rows.filter({ has: page.getByText(s.size, { exact: true }) });
  await expect(row).toContainText(Number(s.price).toFixed(2));
  await expect(row.getByTestId('availability')).toHaveText('✓ In stock');

  // The size sells out: only the Store API's variations answer shows it.
  await page.request.post('/demo/boutique/control/availability', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, available: false } });
  await page.request.post(`/api/v1/sources/${key}/check`, { headers: { Origin: new URL(page.url()).origin } });
  await expect(row.getByTestId('availability')).toHaveText('✗ Sold out');

  // Keywords narrow the shop to what the user wants: edited on its card.
  await page.goto('/sources');
  await hydrated(page);
  const boutique = page.getByTestId('source').filter({ hasText: 'Boutique' });
  await boutique.getByText('Edit', { exact: true }).click();
  await boutique.getByLabel('Only products with').fill('Samba, Dunk');
  await boutique.getByLabel('Leave out products with').fill('kids');
  await boutique.getByRole('button', { name: 'Save' }).click();
  await expect(boutique.getByTestId('keywords')).toHaveText('Only: samba, dunk; not kids');
  const saved = (await (await page.request.get('/api/v1/sources')).json() as any[]).map((x) => x.source ?? x).find((x) => x.key === key);
  expect(saved.keywords).toEqual({ include: ['samba', 'dunk'], exclude: ['kids'] });
});
