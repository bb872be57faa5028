import { test, expect, Page } from '@playwright/test';
import * as http from 'http';

// Alerts as a user sets them up: a Discord channel (the server runs with
// --notify-endpoint discord=http://127.0.0.1:<port+1>/api/webhooks/, see
// scripts/test.sh, so "Discord" is the fake below), "Send test", a rule made
// with the product page's Watch button, a price change in the demo store,
// and the alert in the notification log and at the receiver.

type Sample = { product_id: number; variant_id: number; title: string; size: string; price: string; available: boolean };

const base = new URL(process.env.BASE_URL ?? 'http://127.0.0.1:3300');
const discordPort = Number(base.port) + 1;

type Hit = { path: string; body: any };
let hits: Hit[] = [];
let server: http.Server;

test.beforeAll(async () => {
  server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      let body: any = null;
      try { body = JSON.parse(data); } catch (e) { body = data; }
      hits.push({ path: req.url ?? '', body });
      res.statusCode = 204; // what Discord answers without ?wait=true
      res.end();
    });
  });
  await new Promise<void>((ok) => server.listen(discordPort, '127.0.0.1', () => ok()));
});

test.afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
});

async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

test('a rule made on the product page alerts Discord on a price drop, and the log shows it', async ({ page }) => {
  // A channel, added through the form; its token never shows again.
  await page.goto('/alerts');
  await hydrated(page);
  const form = page.getByTestId('add-channel');
  await form.getByLabel('Name').fill('E2E Discord');
  await form.getByLabel('Address').fill('discord://112233/e2e-webhook-token-XYZ987');
  await form.getByRole('button', { name: 'Add channel' }).click();
  const channel = page.getByTestId('channel').filter({ hasText: 'E2E Discord' });
  await expect(channel).toBeVisible();
  await expect(channel).toContainText('discord://112233/****Z987');
  await expect(page.locator('body')).not.toContainText('e2e-webhook-token-XYZ987');

  // A mistake is said next to the field.
  await form.getByLabel('Address').fill('pushover://nope');
  await form.getByRole('button', { name: 'Add channel' }).click();
  await expect(page.locator('#channel-url-error')).toContainText('unknown channel kind');

  // "Send test" reaches the receiver, in Discord's format.
  hits = [];
  await channel.getByTestId('send-test').click();
  await expect(page.getByText('Sent: the channel took the test message.')).toBeVisible();
  expect(hits.length).toBe(1);
  expect(hits[0].path).toBe('/api/webhooks/112233/e2e-webhook-token-XYZ987');
  expect(hits[0].body.embeds[0].title).toBe('Dropwatch test notification');

  // Watch a product from its page.
  const res = await page.request.get('/demo/control/state');
  const samples = (await res.json()).sample_variants as Sample[];
  const s = samples[samples.length - 1];
  await page.goto(`/product/demo:${s.product_id}`);
  await hydrated(page);
  const watch = page.getByTestId('watch-form');
  await watch.getByLabel('When').selectOption('drop_or_restock');
  await watch.getByTestId('watch').click();
  await expect(page.getByText(/Watching: any price drop or restock/)).toBeVisible();

  // The price falls in the demo store; the next poll sees it.
  hits = [];
  const newPrice = (Number(s.price) - 7.5).toFixed(2);
  await page.request.post('/demo/control/price', { data: { variant_id: s.variant_id, price: newPrice } });
  await expect.poll(() => hits.length, { timeout: 15_000 }).toBe(1);
  const embed = hits[0].body.embeds[0];
  expect(embed.title).toBe(`Price drop: ${s.title} size ${s.size}`);
  expect(embed.description).toContain(`${s.price} -> ${newPrice} USD`);
  expect(embed.url).toContain('/products/');

  // The log shows it as sent, and the rule is listed.
  await page.goto('/alerts');
  await hydrated(page);
  const row = page.getByTestId('notification').filter({ hasText: `Price drop: ${s.title}` });
  await expect(row).toHaveAttribute('data-state', 'sent');
  await expect(row).toContainText('E2E Discord');
  await expect(page.getByTestId('rule').filter({ hasText: s.title })).toContainText('any price drop or restock');

  // A second drop while the page is open appears without a reload... after
  // the cooldown; with it (15 min) nothing more is sent for that size.
  await page.request.post('/demo/control/price', { data: { variant_id: s.variant_id, price: (Number(newPrice) - 1).toFixed(2) } });
  await page.waitForTimeout(2500);
  expect(hits.length, 'cooldown: no repeat for the same product and size').toBe(1);
});

test('a rule from the form: paused it stays silent, resumed it alerts', async ({ page }) => {
  const res = await page.request.get('/demo/control/state');
  const samples = (await res.json()).sample_variants as Sample[];
  // Another product than the first test's (the last sample's).
  const last = samples[samples.length - 1];
  const s = [...samples].reverse().find((x) => x.product_id !== last.product_id)!;
  await page.goto('/alerts');
  await hydrated(page);
  await page.getByText('New rule').click();
  const form = page.getByTestId('new-rule');
  await form.getByLabel('Name').fill('E2E words rule');
  await form.getByLabel('When').selectOption('drop_percent');
  await form.getByLabel(/^Value/).fill('abc');
  await form.getByRole('button', { name: 'Add rule' }).click();
  await expect(page.locator('#rule-value-error')).toContainText('as a number');
  await form.getByLabel(/^Value/).fill('1');
  await form.getByLabel('Words in the title').fill(s.title);
  await form.getByRole('button', { name: 'Add rule' }).click();
  const rule = page.getByTestId('rule').filter({ hasText: 'E2E words rule' });
  await expect(rule).toContainText('price drops by 1% or more');

  await rule.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByTestId('rule').filter({ hasText: 'E2E words rule' })).toHaveAttribute('data-paused', 'true');
  hits = [];
  const lower = (Number(s.price) * 0.8).toFixed(2);
  await page.request.post('/demo/control/price', { data: { variant_id: s.variant_id, price: lower } });
  await page.waitForTimeout(3000); // three polls
  expect(hits.length, 'a paused rule sends nothing').toBe(0);

  await page.getByTestId('rule').filter({ hasText: 'E2E words rule' }).getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('rule').filter({ hasText: 'E2E words rule' })).toHaveAttribute('data-paused', 'false');
  const lower2 = (Number(lower) * 0.8).toFixed(2);
  await page.request.post('/demo/control/price', { data: { variant_id: s.variant_id, price: lower2 } });
  await expect.poll(() => hits.length, { timeout: 15_000 }).toBe(1);
  expect(hits[0].body.embeds[0].description).toContain(`${lower} -> ${lower2} USD`);
  // The open page's log picks it up by itself.
  await expect(page.getByTestId('notification').filter({ hasText: s.title }).first()).toHaveAttribute('data-state', 'sent');
});
