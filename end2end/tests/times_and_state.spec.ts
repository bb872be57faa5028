import { test, expect, Page } from '@playwright/test';
import { ADMIN_STATE, SAME_ORIGIN } from '../global-setup';

// Times in the reader's zone, relative times that keep up, the live badge on
// every page, and a new API token's secret with JavaScript off (issue 21).
// The server renders times in UTC; the browser switches them to its own zone
// after hydration, with the zone and the UTC time in the element's title.

type Sample = { product_id: number; variant_id: number; title: string; size: string; price: string; available: boolean };

async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

async function live(page: Page) {
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live');
}

/** "2026-11-22 14:03:07" for an RFC 3339 time shifted by `hours` (Tokyo has no summer time). */
function wallClock(datetime: string, hours: number): string {
  return new Date(Date.parse(datetime) + hours * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

test.describe('in Tokyo', () => {
  test.use({ timezoneId: 'Asia/Tokyo' });

  test('times show in the browser\'s zone, with the zone and UTC on hover', async ({ page, browser, baseURL }) => {
    // Without JavaScript the server's render stands: UTC, and it says so.
    const plain = await browser.newContext({ javaScriptEnabled: false, timezoneId: 'Asia/Tokyo', baseURL, storageState: ADMIN_STATE });
    const plainPage = await plain.newPage();
    await plainPage.goto('/admin/users');
    await expect(plainPage.getByTestId('user').first().locator('time').first()).toHaveText(
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/,
    );
    await plain.close();

    // A known time (when a user was made) in Tokyo's clock once hydrated.
    await page.goto('/admin/users');
    await hydrated(page);
    const since = page.getByTestId('user').first().locator('time').first();
    const datetime = (await since.getAttribute('datetime'))!;
    expect(datetime).toMatch(/Z$/);
    const tokyo = wallClock(datetime, 9);
    await expect(since).toHaveText(tokyo);
    await expect(since).toHaveAttribute('title', `${tokyo} Asia/Tokyo (UTC+09:00) · ${wallClock(datetime, 0)} UTC`);

    // A source's last run, too (the table refreshes while runs go, so read
    // one element's time, text and title at once).
    await page.goto('/sources');
    await hydrated(page);
    await expect
      .poll(() =>
        page.evaluate(() => {
          const t = document.querySelector('[data-testid="source"] details.runs time');
          if (!t) return 'no run shown';
          const at = Date.parse(t.getAttribute('datetime')!);
          const tokyo = new Date(at + 9 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
          const title = t.getAttribute('title') ?? '';
          return t.textContent === tokyo && title.includes('Asia/Tokyo (UTC+09:00)') ? 'ok' : `${t.textContent} | ${title}`;
        }),
      )
      .toBe('ok');
  });
});

test('a time in the feed says how long ago, and keeps saying it as time passes', async ({ page }) => {
  await page.clock.install();
  await page.goto('/');
  await hydrated(page);
  await live(page);
  const state = await (await page.request.get('/demo/control/state')).json();
  const s: Sample = state.sample_variants[state.sample_variants.length - 1];
  const newPrice = (Number(s.price) + 3.21).toFixed(2);
  const set = await page.request.post('/demo/control/price', { headers: SAME_ORIGIN, data: { variant_id: s.variant_id, price: newPrice } });
  expect(set.status()).toBe(204);

  const item = page.getByTestId('feed').locator('.event', { hasText: `-> ${newPrice} USD` });
  await expect(item).toHaveCount(1);
  const when = item.locator('time');
  await expect(when).toHaveText('just now');
  await expect(when).toHaveAttribute('title', / UTC$/);
  await page.clock.fastForward('05:00');
  await expect(when).toHaveText('5 min ago');
  await page.clock.fastForward('02:00:00');
  await expect(when).toHaveText('2 h ago');
});

test('the header is live on the account and admin pages, over the one socket', async ({ page }) => {
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  for (const path of ['/account', '/admin/users', '/admin/audit']) {
    await page.goto(path);
    await hydrated(page);
    await live(page);
    await expect(page.locator('.connection')).toHaveText('● Live');
  }

  // Moving between pages inside the app keeps the socket it has.
  await page.goto('/');
  await live(page);
  await page.waitForTimeout(500);
  const opened = sockets.length;
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Users' }).click();
  await expect(page).toHaveURL(/\/admin\/users$/);
  await expect(page.getByTestId('users')).toBeVisible();
  await live(page);
  await nav.getByTestId('who').click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('me')).toContainText('Signed in as');
  await live(page);
  expect(sockets.length).toBe(opened);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a new API token\'s secret is shown once, and never in the address', async ({ page, playwright, baseURL }) => {
    await page.goto('/account');
    // No script, no socket: the header says so rather than "Connecting…".
    await expect(page.locator('.connection')).toHaveAttribute('data-state', 'idle');
    await expect(page.locator('.connection')).toHaveText('Not live');

    const name = `nojs-${Date.now() % 100000}`;
    const form = page.getByTestId('new-token');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Role').selectOption('viewer');
    await form.getByRole('button', { name: 'Create token' }).click();

    // The plain post is sent back to the account page, which shows it once.
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId('token-created')).toContainText('Copy it now');
    const secret = (await page.getByTestId('token-secret').textContent())!.trim();
    expect(secret).toMatch(/^dw_[a-z0-9]+_/);
    expect(page.url()).not.toContain(secret);
    const row = page.getByTestId('token').filter({ hasText: name });
    await expect(row).toHaveCount(1);
    await expect(row.locator('time').first()).toHaveText(/ UTC$/);

    // It is a real token.
    const program = await playwright.request.newContext({
      baseURL,
      storageState: { cookies: [], origins: [] },
      extraHTTPHeaders: { Authorization: `Bearer ${secret}` },
    });
    expect((await program.get('/api/v1/me')).status()).toBe(200);

    // Once: a reload shows the token, never its secret again.
    await page.reload();
    await expect(page.getByTestId('token').filter({ hasText: name })).toHaveCount(1);
    await expect(page.getByTestId('token-secret')).toHaveCount(0);
    expect(await page.content()).not.toContain(secret);

    // Revoked, also by a plain form post.
    await page.getByTestId('token').filter({ hasText: name }).getByRole('button', { name: 'Revoke' }).click();
    await expect(page.getByTestId('token').filter({ hasText: name })).toHaveAttribute('data-revoked', 'true');
    expect((await program.get('/api/v1/me')).status()).toBe(401);
    await program.dispose();
  });
});
