import { test, expect, Page } from '@playwright/test';
import { SAME_ORIGIN } from '../global-setup';

// Amazon (through Oxylabs) and Pop Mart as sources, added from the Sources
// page with the built-in demo's fakes of both APIs (the demo's Amazon
// mirrors the demo store); then the cross-store comparison: split and merge
// by hand on the product page, and the grid sorted by the gap between stores.
// (It shares the server with sources.spec.ts, on other demo products.)

type Sample = { product_id: number; variant_id: number; title: string; size: string; price: string; available: boolean };

async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

const asinOf = (id: number) => `B0DW${String(id % 1_000_000).padStart(6, '0')}`;

test('Amazon and Pop Mart sources through the demo connectors, and matches split, merged and sorted by spread', async ({ page, baseURL }) => {
  test.setTimeout(120_000);
  const state = await (await page.request.get('/demo/control/state')).json();
  const samples = state.sample_variants as Sample[];
  // Items sources.spec.ts does not use (it takes the fourth sample's
  // product), so that the two files do not see each other's stores.
  const others = samples.filter((s) => s.product_id !== samples[3].product_id);
  const first = others[0].product_id;
  // Another item (another title), to merge by hand.
  const second = others.find((s) => s.title !== others[0].title)!.product_id;

  await page.goto('/sources');
  await hydrated(page);
  const accounts = page.getByTestId('connectors');
  await expect(accounts.getByTestId('oxylabs-state')).toContainText('Not set');
  await accounts.getByRole('button', { name: "Use the built-in demo's Oxylabs and Pop Mart" }).click();
  await expect(accounts.getByRole('status').first()).toContainText('try the ASINs');
  await expect(accounts.getByTestId('oxylabs-state')).toContainText("the built-in demo's Oxylabs");
  await expect(accounts.getByTestId('popmart-state')).toContainText('HK');
  // The demo's password is nowhere on the page.
  expect(await page.content()).not.toContain('demo-oxylabs-password');

  // Amazon: an entry that is neither an ASIN nor an Amazon URL is said next to the field.
  const form = page.getByTestId('add-source');
  await form.getByLabel('Kind').selectOption('amazon');
  await form.getByText('Amazon: which products').click();
  await form.locator('textarea[name=asins]').fill('hello');
  await form.getByLabel('Name').fill('Amazon demo');
  await form.getByLabel('Check every').fill('1h');
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(page.locator('#asins-error')).toContainText('neither an ASIN');
  await form.locator('textarea[name=asins]').fill(`${asinOf(first)}\nhttps://www.amazon.com/dp/${asinOf(second)}`);
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(form.getByRole('status')).toContainText('Added');
  const card = page.getByTestId('source').filter({ hasText: 'Amazon demo' });
  await expect(card.getByTestId('progress-text')).toContainText('Last check done: 2 products', { timeout: 30_000 });
  await expect(card.getByTestId('watches')).toContainText(`2 ASINs on amazon.com: ${asinOf(first)}, ${asinOf(second)}`);
  // One more ASIN, through the card's Edit form.
  const third = others.find((s) => s.product_id !== first && s.product_id !== second)!.product_id;
  await card.getByText('Edit', { exact: true }).click();
  await card.locator('textarea[name=asins]').fill(`${asinOf(first)}\n${asinOf(second)}\n${asinOf(third)}`);
  await card.getByRole('button', { name: 'Save' }).click();
  await expect(card.getByTestId('watches')).toContainText(`3 ASINs on amazon.com: ${asinOf(first)}, ${asinOf(second)}, ${asinOf(third)}`);

  // Pop Mart: a keyword search in Hong Kong, through the demo's Pop Mart.
  const popmartUrl = `${new URL(baseURL!).protocol}//localhost:${new URL(baseURL!).port}/demo/popmart`;
  await form.getByLabel('Kind').selectOption('popmart');
  await form.getByText('Pop Mart: region and what to watch').click();
  await form.getByLabel('Store address').fill(popmartUrl);
  await form.getByLabel('Name').fill('Pop Mart HK');
  await form.locator('select[name=popmart_region]').selectOption('HK');
  await form.locator('select[name=popmart_watch]').selectOption('search');
  await form.locator('input[name=popmart_target]').fill('labubu');
  await form.getByRole('button', { name: 'Add source' }).click();
  await expect(form.getByRole('status')).toContainText('Added');
  const pm = page.getByTestId('source').filter({ hasText: 'Pop Mart HK' });
  await expect(pm.getByTestId('progress-text')).toContainText('Last check done: 2 products', { timeout: 30_000 });
  await expect(pm.getByTestId('watches')).toContainText('Pop Mart HK: search "labubu"');

  // The Amazon product's page: Amazon's details, and the demo store beside it.
  const sources = (await (await page.request.get('/api/v1/sources')).json()) as any[];
  const amazonKey = sources.map((x) => x.source ?? x).find((x) => x.name === 'Amazon demo').key;
  await page.goto(`/product/${amazonKey}:${asinOf(first).toLowerCase()}`);
  await hydrated(page);
  await expect(page.getByTestId('facts')).toContainText('delivery');
  await expect(page.getByTestId('facts')).toContainText('of 5');
  const demoRow = page.locator(`tr[data-key="demo:${first}"]`);
  await expect(demoRow).toContainText('same brand and model name');
  await expect(page.getByTestId('compare').locator('[data-cheapest="true"]')).toHaveCount(1);

  // Split: not the same item. The row goes; the pair is listed as kept apart.
  await demoRow.getByRole('button', { name: 'Not the same item' }).click();
  await expect(demoRow).toHaveCount(0);
  await expect(page.getByTestId('kept-apart')).toContainText('Kept apart by hand');
  await page.getByTestId('kept-apart').getByRole('button', { name: 'Undo' }).click();
  await expect(demoRow).toContainText('same brand and model name');

  // Merge: another demo item is the same item too, by hand; then undone.
  const secondRow = page.locator(`tr[data-key="demo:${second}"]`);
  await expect(secondRow).toHaveCount(0);
  const merge = page.getByTestId('merge');
  await merge.locator('select[name=other]').selectOption(`demo:${second}`);
  await merge.getByRole('button', { name: 'Merge' }).click();
  await expect(secondRow).toContainText('confirmed by hand');
  await secondRow.getByRole('button', { name: 'Undo' }).click();
  await expect(secondRow).toHaveCount(0);

  // Amazon sells the first item dearer than the demo store: after a check,
  // the grid sorted by the gap between stores shows it first.
  const demoProduct = await (await page.request.get(`/api/v1/products/demo:${first}`)).json();
  const low = Math.min(...(demoProduct.variants as any[]).filter((v) => v.available).map((v) => Number(v.price)));
  await page.request.post('/demo/oxylabs/control/answer', { headers: SAME_ORIGIN, data: { asin: asinOf(first), result: { status_code: 200, content: {
    asin: asinOf(first), title: `${demoProduct.brand} ${demoProduct.title}`, brand: demoProduct.brand,
    price: Math.round(low * 300) / 100, stock: 'In Stock', currency: 'USD', parse_status_code: 12000 } } } });
  await page.request.post(`/api/v1/sources/${amazonKey}/check`, { headers: { Origin: new URL(baseURL!).origin } });
  await expect.poll(async () => {
    const p = await (await page.request.get(`/api/v1/products/${amazonKey}:${asinOf(first).toLowerCase()}`)).json();
    return Number(p.variants[0].price);
  }, { timeout: 15_000 }).toBeCloseTo(Math.round(low * 300) / 100, 2);
  await page.goto('/?sort=spread');
  await hydrated(page);
  const top = page.getByTestId('product').first();
  await expect(top.getByTestId('spread')).toContainText(/In stock in \d stores/);
  const words = await top.getByTestId('spread').innerText();
  expect(Number(/\(([\d.]+) % apart\)/.exec(words)![1])).toBeGreaterThanOrEqual(200);
});
