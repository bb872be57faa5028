import { test, expect, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

// Importing sources on the Sources page (issue 19): a changedetection.io
// url-watches.json is previewed (what each watch becomes, and why not), and
// a CSV list picked as a file is previewed, then imported; the new source
// shows in the list without a reload.

async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

const CDIO = path.join(__dirname, '../../monitor/tests/fixtures/cdio/backup/url-watches.json');

test('a changedetection.io backup is previewed watch by watch, and nothing changes', async ({ page }) => {
  await page.goto('/sources');
  await hydrated(page);
  const before = await page.getByTestId('source').count();
  const form = page.getByTestId('import-sources-form');
  await form.getByTestId('import-file').setInputFiles({
    name: 'url-watches.json',
    mimeType: 'application/json',
    buffer: fs.readFileSync(CDIO),
  });
  // The file is read into the form in the browser before it is sent.
  await expect(form.locator('input[name=file]')).toHaveValue(/^data:/);
  await form.getByRole('button', { name: 'Preview' }).click();
  const summary = page.getByTestId('import-sources-summary');
  await expect(summary).toContainText('changedetection.io backup: will add 4 sources');
  await expect(summary).toContainText('Nothing is changed until you import');
  const lines = page.getByTestId('import-sources-lines');
  await expect(lines.locator('[data-state=will_add]')).toHaveCount(4);
  await expect(lines.locator('[data-state=not_imported]')).toHaveCount(2);
  await expect(lines.locator('[data-state=not_imported]').first()).toContainText(/JSON API watch|not text changes/);
  await expect(lines.locator('[data-state=refused]')).toContainText('javascript:alert(1)');
  await expect(lines.getByText('Espresso grinder')).toBeVisible();
  await expect(lines).toContainText('paused · every 6h30m');
  await expect(lines).toContainText('tags: Outdoor, Deals');
  await expect(page.getByTestId('import-extra').filter({ hasText: 'discord://' })).toContainText('will add');
  await expect(page.getByTestId('source')).toHaveCount(before);
});

test('a list of URLs picked as a file is previewed, then imported, and shows in the list', async ({ page }) => {
  await page.goto('/sources');
  await hydrated(page);
  // A page of the demo shop that has no product: imported like any other,
  // it adds no product to the grid the other tests read.
  const url = `${new URL(page.url()).origin}/demo/products/e2e-import-no-such-shoe`;
  const csv = `url,kind,interval,name,tags\n${url},,2h,Imported page,e2e;list\nftp://files.example.com/x,,,,\n`;
  const form = page.getByTestId('import-sources-form');
  await form.getByTestId('import-file').setInputFiles({ name: 'list.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await expect(form.locator('input[name=file]')).toHaveValue(/^data:/);
  await form.getByRole('button', { name: 'Preview' }).click();
  const lines = page.getByTestId('import-sources-lines');
  await expect(lines.locator('[data-state=will_add]')).toContainText('Imported page');
  await expect(lines.locator('[data-state=will_add]')).toContainText('tags: e2e, list');
  await expect(lines.locator('[data-state=refused]')).toContainText('web address');
  await expect(page.getByTestId('source').filter({ hasText: 'Imported page' })).toHaveCount(0);

  await form.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByTestId('import-sources-summary')).toContainText('list: added 1 source');
  await expect(lines.locator('[data-state=added]')).toContainText('Imported page');
  // The list follows without a reload.
  await expect(page.getByTestId('source').filter({ hasText: 'Imported page' })).toHaveCount(1);

  // Removed again: the other tests count the sources.
  const sources = await (await page.request.get('/api/v1/sources')).json();
  const key = (sources as any[]).map((x) => x.source).find((x) => x.name === 'Imported page').key;
  const gone = await page.request.delete(`/api/v1/sources/${key}`, { headers: { Origin: new URL(page.url()).origin } });
  expect(gone.ok()).toBeTruthy();
});

test('"Test this URL" reads a product page and says where each value came from, adding nothing', async ({ page }) => {
  const state = await (await page.request.get('/demo/control/state')).json();
  const s = state.sample_variants[7];
  const tracked = await (await page.request.get(`/api/v1/products/demo:${s.product_id}`)).json();
  await page.goto('/sources');
  await hydrated(page);
  const before = await page.getByTestId('source').count();
  const form = page.getByTestId('add-source');
  await form.getByLabel('Kind').selectOption('page');
  await form.getByLabel('Store address').fill(tracked.url);
  await form.getByTestId('probe-button').click();
  const result = page.getByTestId('probe-result');
  await expect(result).toHaveAttribute('data-kind', 'page');
  await expect(page.getByTestId('probe-headline')).toContainText('would track');
  await expect(result).toContainText(tracked.title);
  await expect(result).toContainText('JSON-LD');
  await expect(page.getByTestId('probe-size')).toHaveCount(tracked.variants.length);
  await expect(page.getByTestId('source')).toHaveCount(before);
});
