import { test, expect, Page } from '@playwright/test';
import { ADMIN_STATE, SAME_ORIGIN } from '../global-setup';

// Editing in place (issue 21): a watch rule edited on /alerts, a link's
// markup edited on /repricing (the next proposal uses it), and links
// imported from a CSV, previewed first. Mistakes are said next to their
// field and change nothing.

type Sample = { product_id: number; variant_id: number; title: string; size: string; price: string; available: boolean };

async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

async function samples(page: Page): Promise<Sample[]> {
  const res = await page.request.get('/demo/control/state');
  return (await res.json()).sample_variants as Sample[];
}

// The Repricing page with the demo shop connected.
async function repricingConnected(page: Page) {
  await page.goto('/repricing');
  await hydrated(page);
  const status = page.getByTestId('shop-status');
  if (!(await status.textContent())?.includes('Dropwatch Demo Shop')) {
    await page.getByTestId('connect-offered').click();
    await expect(status).toContainText('Connected to Dropwatch Demo Shop');
  }
  // The shop's currency was read when it was connected.
  await expect(page.getByTestId('shop-currency')).toHaveText('USD');
}

test('a rule edited on the Alerts page: a mistake is said next to its field, and the new condition stays after a reload', async ({ page }) => {
  // A channel and a rule (for no product at all: it never fires).
  const ch = await page.request.post('/api/v1/channels', { headers: SAME_ORIGIN, data: { name: 'E2E edit channel', url: 'ntfy://e2e-edit-topic' } });
  expect(ch.status()).toBe(201);
  const channel = (await ch.json()).id as string;
  const made = await page.request.post('/api/v1/rules', {
    headers: SAME_ORIGIN,
    data: { name: 'E2E rule to edit', scope: { keywords: ['e2e-edit-matches-nothing'] }, condition: { kind: 'sold_out' }, channels: [channel] },
  });
  expect(made.status()).toBe(201);
  const id = (await made.json()).id as string;

  await page.goto('/alerts');
  await hydrated(page);
  const rule = page.locator(`[data-testid="rule"][data-id="${id}"]`);
  await expect(rule).toContainText('sells out');
  await rule.getByText('Edit…').click();
  const form = rule.getByTestId('edit-rule');
  await expect(form.getByLabel('Name')).toHaveValue('E2E rule to edit');
  await expect(form.getByLabel('Words in the title')).toHaveValue('e2e-edit-matches-nothing');
  await expect(form.getByLabel('E2E edit channel')).toBeChecked();

  // A price that is no number: said next to the field; the rule is as it was.
  await form.getByLabel('When').selectOption('price_at_or_below');
  await form.getByLabel(/^Value/).fill('cheap');
  await form.getByRole('button', { name: 'Save rule' }).click();
  await expect(page.locator(`#rule-${id}-value-error`)).toContainText('as a number');
  await expect(rule.locator('p').first()).toContainText('sells out');

  // Fixed: saved, shown, and still so after a reload.
  await form.getByLabel(/^Value/).fill('99.50');
  await form.getByLabel(/^No repeat/).fill('1h');
  await form.getByRole('button', { name: 'Save rule' }).click();
  await expect(rule.locator('p').first()).toContainText('price at or below 99.5');
  await page.reload();
  await hydrated(page);
  await expect(rule.locator('p').first()).toContainText('price at or below 99.5');
  await expect(rule).toContainText('no repeat within 1h');
  await expect(rule).toContainText('E2E rule to edit');

  const rules = await (await page.request.get('/api/v1/rules')).json();
  const saved = (rules as any[]).find((r) => r.id === id);
  expect(saved.condition).toEqual({ kind: 'price_at_or_below', price: '99.50' });
  expect(saved.channels).toEqual([channel]);
  expect(saved.cooldown_secs).toBe(3600);

  await page.request.delete(`/api/v1/rules/${id}`, { headers: SAME_ORIGIN });
  await page.request.delete(`/api/v1/channels/${channel}`, { headers: SAME_ORIGIN });
});

test('the rule edit form works before the wasm loads (plain form posts)', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL, storageState: ADMIN_STATE });
  const page = await context.newPage();
  const ch = await page.request.post('/api/v1/channels', { headers: SAME_ORIGIN, data: { name: 'E2E no-JS channel', url: 'ntfy://e2e-nojs-topic' } });
  expect(ch.status()).toBe(201);
  const channel = (await ch.json()).id as string;
  const made = await page.request.post('/api/v1/rules', {
    headers: SAME_ORIGIN,
    data: { name: 'E2E no-JS rule', scope: { keywords: ['e2e-nojs-matches-nothing'] }, condition: { kind: 'sold_out' }, channels: [channel] },
  });
  expect(made.status()).toBe(201);
  const id = (await made.json()).id as string;

  await page.goto('/alerts');
  const rule = page.locator(`[data-testid="rule"][data-id="${id}"]`);
  await rule.getByText('Edit…').click();
  let form = rule.getByTestId('edit-rule');
  // Refused: the browser comes back with the mistake next to its field.
  await form.getByLabel('When').selectOption('drop_percent');
  await form.getByLabel(/^Value/).fill('150');
  await form.getByRole('button', { name: 'Save rule' }).click();
  await expect(page).toHaveURL(/form=edit-rule/);
  await expect(page.locator(`#rule-${id}-percent-error`)).toContainText('between 0 and 100');
  await expect(rule.locator('p').first()).toContainText('sells out');

  // The form is open again; saved, the browser is sent back to the page.
  form = rule.getByTestId('edit-rule');
  await form.getByLabel('When').selectOption('drop_percent');
  await form.getByLabel(/^Value/).fill('15');
  await form.getByRole('button', { name: 'Save rule' }).click();
  await expect(page).toHaveURL(/\/alerts\??$/);
  await expect(rule.locator('p').first()).toContainText('price drops by 15% or more');
  const rules = await (await page.request.get('/api/v1/rules')).json();
  expect((rules as any[]).find((r) => r.id === id).channels).toEqual([channel]);

  await page.request.delete(`/api/v1/rules/${id}`, { headers: SAME_ORIGIN });
  await page.request.delete(`/api/v1/channels/${channel}`, { headers: SAME_ORIGIN });
  await context.close();
});

test("a link's markup edited on the Repricing page: refused whole when a part is wrong; the next proposal uses it", async ({ page }) => {
  await repricingConnected(page);
  const s = (await samples(page))[4];
  const made = await page.request.post('/api/v1/reprice/links', {
    headers: SAME_ORIGIN,
    data: { source_product: `demo:${s.product_id}`, source_variant: String(s.variant_id), target: `DW-${s.variant_id}`, markup: { percent: '10' } },
  });
  expect(made.status()).toBe(201);
  const id = (await made.json()).id as string;
  await page.reload();
  await hydrated(page);
  const link = page.locator(`[data-testid="link"][data-id="${id}"]`);
  await expect(link).toContainText('+10 %');

  await link.getByText('Edit markup…').click();
  const form = link.getByTestId('edit-link');
  await expect(form.getByLabel('Percent')).toHaveValue('10');
  // A conversion rate of 0: said next to it, and nothing changes.
  await form.getByLabel('Percent').fill('50');
  await form.getByLabel(/^Conversion rate/).fill('0');
  await form.getByRole('button', { name: 'Save markup' }).click();
  await expect(page.locator(`#link-${id}-rate-error`)).toContainText('not positive');
  await expect(link).toContainText('+10 %');

  await form.getByLabel(/^Conversion rate/).fill('');
  await form.getByRole('button', { name: 'Save markup' }).click();
  await expect(link).toContainText('+50 %');

  // The source price changes: the proposal is at +50 %.
  const n = Math.floor(Number(s.price)) + 13;
  const newPrice = `${n}.00`;
  const expected = (1.5 * n).toFixed(2);
  const r = await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, price: newPrice } });
  expect(r.status()).toBe(204);
  const row = page.getByTestId('proposal').filter({ hasText: `${newPrice} USD` });
  await expect(row).toHaveAttribute('data-state', 'proposed');
  await expect(row.getByTestId('proposed')).toHaveText(expected);
  await expect(row).toContainText('+50 %');

  // The edit is in the audit log.
  await page.goto('/admin/audit');
  await expect(page.locator('body')).toContainText('reprice.link_edit');
});

test('links imported from a CSV: the preview says what each line will do, Import links the good lines only', async ({ page }) => {
  await repricingConnected(page);
  const all = await samples(page);
  const [a, b, c] = [all[5], all[6], all[7]];
  const csv = [
    'source_sku,store_sku,markup_percent',
    `demo:${a.product_id}#${a.size},DW-${a.variant_id},20`,
    `demo:${b.product_id}#${b.size},https://admin.shopify.com/store/demo/products/1/variants/${9_000_000 + b.variant_id}`,
    `E2E-NO-SUCH-SKU,DW-${c.variant_id},10`,
    `demo:${c.product_id}#${c.size},DW-${c.variant_id},lots`,
    `demo:${c.product_id}#${c.size},DW-${a.variant_id}`,
  ].join('\n');
  const before = ((await (await page.request.get('/api/v1/reprice/links')).json()) as any[]).length;

  const panel = page.getByTestId('import-form');
  await panel.getByLabel('CSV').fill(csv);
  await panel.getByRole('button', { name: 'Preview', exact: true }).click();
  const lines = page.getByTestId('import-line');
  await expect(lines).toHaveCount(5);
  await expect(page.getByTestId('import-summary')).toHaveText('2 lines will link, 3 are refused.');
  const state = (i: number) => lines.nth(i);
  await expect(state(0)).toHaveAttribute('data-state', 'will_link');
  await expect(state(0)).toContainText(`size ${a.size}`);
  await expect(state(1)).toHaveAttribute('data-state', 'will_link');
  await expect(state(2)).toHaveAttribute('data-state', 'refused');
  await expect(state(2)).toContainText('no tracked product has the SKU');
  await expect(state(3)).toContainText('bad markup');
  await expect(state(4)).toContainText('line 2');
  // A preview links nothing.
  expect(((await (await page.request.get('/api/v1/reprice/links')).json()) as any[]).length).toBe(before);

  await panel.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(page.getByTestId('import-summary')).toHaveText('Linked 2 lines; 3 refused.');
  await expect(state(0)).toHaveAttribute('data-state', 'linked');
  await expect(state(1)).toHaveAttribute('data-state', 'linked');
  await expect(state(2)).toHaveAttribute('data-state', 'refused');
  const links = (await (await page.request.get('/api/v1/reprice/links')).json()) as any[];
  expect(links.length).toBe(before + 2);
  const imported = links.filter((l) => [a, b].some((x) => l.target_variant === `gid://shopify/ProductVariant/${9_000_000 + x.variant_id}`));
  expect(imported.length).toBe(2);
  // They show in the list without a reload.
  for (const l of imported) {
    await expect(page.locator(`[data-testid="link"][data-id="${l.id}"]`)).toBeVisible();
  }
});
