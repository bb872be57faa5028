import { test, expect, Browser } from '@playwright/test';
import { ADMIN } from '../global-setup';

// Signing in, roles, API tokens and the audit log, as users meet them. The
// server runs with no anonymous access and an admin made by --admin-password.

const signedOut = { cookies: [], origins: [] };

async function signIn(browser: Browser, baseURL: string, name: string, password: string) {
  const context = await browser.newContext({ baseURL, storageState: signedOut });
  const page = await context.newPage();
  await page.goto('/sources');
  await expect(page).toHaveURL(/\/login\?next=%2Fsources/);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/sources$/);
  return { context, page };
}

test('a visitor who is not signed in sees only the sign-in page', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL, storageState: signedOut });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  // No product data reached this page, and the API says 401 in words.
  expect(await page.content()).not.toContain('data-testid="product"');
  const api = await page.request.get('/api/v1/products');
  expect(api.status()).toBe(401);
  expect(api.headers()['content-type']).toContain('application/problem+json');
  // A wrong password comes back as a message, the name kept.
  await page.getByLabel('User name').fill(ADMIN.name);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('login-error')).toContainText('wrong user name or password');
  await expect(page.getByLabel('User name')).toHaveValue(ADMIN.name);
  // Health stays public.
  expect((await page.request.get('/healthz')).status()).toBe(200);
  await context.close();
});

test('an admin adds a viewer, who can read but not change anything', async ({ page, browser, baseURL }) => {
  const name = `viewer${Date.now() % 100000}`;
  await page.goto('/admin/users');
  const form = page.getByTestId('new-user');
  await form.getByLabel('User name').fill(name);
  await form.getByLabel('Role').selectOption('viewer');
  await form.getByLabel('Password').fill('viewer-password-1');
  await form.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByTestId('user').filter({ hasText: name })).toHaveCount(1);

  const viewer = await signIn(browser, baseURL!, name, 'viewer-password-1');
  const v = viewer.page;
  await expect(v.getByTestId('who')).toContainText(name);
  await expect(v.getByTestId('source').first()).toBeVisible();
  await expect(v.getByTestId('read-only')).toBeVisible();
  await expect(v.getByTestId('add-source')).toHaveCount(0);
  await expect(v.getByRole('button', { name: 'Check now' })).toHaveCount(0);
  // The header offers no admin pages, and the server refuses them anyway.
  await expect(v.getByRole('link', { name: 'Users' })).toHaveCount(0);
  const users = await v.request.get('/api/v1/users');
  expect(users.status()).toBe(403);
  // A change the page does not offer, made by hand with the viewer's cookie: refused.
  const check = await v.request.post('/api/v1/sources/demo/check', { headers: { Origin: new URL(v.url()).origin } });
  expect(check.status()).toBe(403);
  await viewer.context.close();

  // The admin sees who did what in the audit log.
  await page.goto('/admin/audit');
  await expect(page.getByTestId('audit')).toContainText('user.create');
  await expect(page.getByTestId('audit')).toContainText(name);
});

test('an API token is shown once, works for programs, and stops at once when revoked', async ({ page, playwright, baseURL }) => {
  await page.goto('/account');
  await expect(page.getByTestId('me')).toContainText('Signed in as admin');
  // The secret is shown by the page's script: wait until it runs.
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const form = page.getByTestId('new-token');
  await form.getByLabel('Name').fill('e2e script');
  await form.getByLabel('Role').selectOption('viewer');
  await form.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.getByTestId('token-secret').textContent())!.trim();
  expect(secret).toMatch(/^dw_[a-z0-9]+_/);
  const row = page.getByTestId('token').filter({ hasText: 'e2e script' });
  await expect(row).toHaveCount(1);
  // dw_<id>_<secret>: the secret itself may contain '_'.
  await expect(row).not.toContainText(secret.split('_').slice(2).join('_'));

  const program = await playwright.request.newContext({ baseURL, storageState: signedOut, extraHTTPHeaders: { Authorization: `Bearer ${secret}` } });
  const me = await program.get('/api/v1/me');
  expect(me.status()).toBe(200);
  expect(await me.json()).toMatchObject({ user: 'admin', role: 'viewer', via: 'token' });
  const products = await (await program.get('/api/v1/products?sort=price_asc')).json();
  expect(products.products.length).toBeGreaterThan(0);
  // A viewer token changes nothing.
  expect((await program.post('/api/v1/sources', { data: { kind: 'shopify', url: 'https://x.example' } })).status()).toBe(403);

  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByTestId('token').filter({ hasText: 'e2e script' })).toHaveAttribute('data-revoked', 'true');
  expect((await program.get('/api/v1/me')).status()).toBe(401);
  await program.dispose();
});

test('a request from another site with the session cookie is refused', async ({ page }) => {
  await page.goto('/sources');
  const res = await page.request.post('/api/v1/sources/demo/check', { headers: { Origin: 'http://evil.example' } });
  expect(res.status()).toBe(403);
  expect((await res.json()).title).toContain('Cross-site');
  // The same call from our own origin is fine.
  const ok = await page.request.post('/api/v1/sources/demo/check', { headers: { Origin: new URL(page.url()).origin } });
  expect(ok.status()).toBe(202);
});

test('signing out ends the session', async ({ browser, baseURL }) => {
  const { context, page } = await signIn(browser, baseURL!, ADMIN.name, ADMIN.password);
  await page.goto('/account');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/status');
  await expect(page).toHaveURL(/\/login\?next=%2Fstatus/);
  await context.close();
});
