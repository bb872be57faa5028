import { test, expect, Page } from '@playwright/test';
import * as http from 'http';
import * as crypto from 'crypto';
import { SAME_ORIGIN } from '../global-setup';

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
  // The form is cleared: the address is a secret.
  await expect(form.getByLabel('Address')).toHaveValue('');
  // The page is live.
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live');
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
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, price: newPrice } });
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
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, price: (Number(newPrice) - 1).toFixed(2) } });
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
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, price: lower } });
  await page.waitForTimeout(3000); // three polls
  expect(hits.length, 'a paused rule sends nothing').toBe(0);

  await page.getByTestId('rule').filter({ hasText: 'E2E words rule' }).getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('rule').filter({ hasText: 'E2E words rule' })).toHaveAttribute('data-paused', 'false');
  const lower2 = (Number(lower) * 0.8).toFixed(2);
  await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, price: lower2 } });
  await expect.poll(() => hits.length, { timeout: 15_000 }).toBe(1);
  expect(hits[0].body.embeds[0].description).toContain(`${lower} -> ${lower2} USD`);
  // The open page's log picks it up by itself.
  await expect(page.getByTestId('notification').filter({ hasText: s.title }).first()).toHaveAttribute('data-state', 'sent');
});

// RFC 8291 (aes128gcm) decryption, written independently of the server's
// Rust crate, so that the two implementations check each other.
function decryptPush(body: Buffer, ecdh: crypto.ECDH, auth: Buffer): string {
  const salt = body.subarray(0, 16);
  const idlen = body[20];
  const serverKey = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  const hmac = (key: Buffer, data: Buffer) => crypto.createHmac('sha256', key).update(data).digest();
  const shared = ecdh.computeSecret(serverKey);
  const prkKey = hmac(auth, shared);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), ecdh.getPublicKey(), serverKey, Buffer.from([1])]);
  const ikm = hmac(prkKey, keyInfo);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01', 'binary')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01', 'binary')).subarray(0, 12);
  const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const plain = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  let end = plain.length - 1;
  while (end > 0 && plain[end] === 0) end--;
  expect(plain[end], 'the last record ends with the 0x02 delimiter').toBe(2);
  return plain.subarray(0, end).toString('utf8');
}

test('"Enable push on this device" registers the browser; a test push reaches its push service, encrypted for it', async ({ page }) => {
  // The browser's push service: local, recording what arrives.
  const got: { headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
  const push = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.statusCode = 201;
      res.end();
    });
  });
  // On the port the server trusts (scripts/test.sh: --trust-url
  // http://127.0.0.1:<port+2>/): push endpoints on this machine are
  // otherwise refused by the outbound policy.
  const port = Number(base.port) + 2;
  await new Promise<void>((ok) => push.listen(port, '127.0.0.1', () => ok()));
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = crypto.randomBytes(16);
  const keys = { endpoint: `http://127.0.0.1:${port}/push/e2e-device`, p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') };
  // Headless Chromium has no push service on this closed network: stand in
  // for the browser's PushManager with a subscription to the local one.
  await page.addInitScript((k) => {
    const make = () => ({
      endpoint: k.endpoint,
      toJSON: () => ({ endpoint: k.endpoint, expirationTime: null, keys: { p256dh: k.p256dh, auth: k.auth } }),
      unsubscribe: async () => { localStorage.removeItem('e2e-sub'); return true; },
    });
    (PushManager.prototype as any).subscribe = async () => { localStorage.setItem('e2e-sub', '1'); return make(); };
    (PushManager.prototype as any).getSubscription = async () => (localStorage.getItem('e2e-sub') ? make() : null);
    (Notification as any).requestPermission = async () => 'granted';
  }, keys);

  await page.goto('/alerts');
  await hydrated(page);
  await page.getByTestId('push-enable').click();
  const device = page.locator('[data-testid=channel][data-kind=webpush]');
  await expect(device).toContainText('web push via 127.0.0.1');
  await hydrated(page); // the page reloaded
  await expect(device).toContainText('Chrome on Linux');
  await expect(page.locator('body')).not.toContainText('e2e-device');
  await expect(page.locator('#push-disable')).toBeVisible();
  await expect(page.locator('#push-enable')).toBeHidden();

  await device.getByTestId('send-test').click();
  await expect(page.getByText('Sent: the channel took the test message.')).toBeVisible();
  expect(got.length).toBe(1);
  const h = got[0].headers;
  expect(h['content-encoding']).toBe('aes128gcm');
  expect(Number(h['ttl'])).toBeGreaterThan(0);
  expect(String(h['authorization'])).toMatch(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]{87}$/);
  const message = JSON.parse(decryptPush(got[0].body, ecdh, auth));
  expect(message.title).toBe('Dropwatch test notification');

  // "Stop push" ends it: the channel is gone.
  await page.locator('#push-disable').click();
  await expect(page.locator('#push-enable')).toBeVisible();
  await expect(page.locator('#push-disable')).toBeHidden();
  await expect(page.locator('[data-testid=channel][data-kind=webpush]')).toHaveCount(0);
  await new Promise<void>((ok) => push.close(() => ok()));
});
