import { test, expect, Browser, Page } from '@playwright/test';
import { SAME_ORIGIN } from '../global-setup';

// "For you" and "Related" as a user meets them. The user is one of their
// own (made by the admin), so that what other specs open as the admin does
// not teach these picks, and nothing here changes a demo product. They open
// a few products of one brand and filter the grid by a size; the dashboard
// then picks products of that brand in that size for them, each saying
// why, and "Clear what Dropwatch learned" makes the picks go. A product
// page lists related products with why. On a phone both fit the screen.

const signedOut = { cookies: [], origins: [] };
const PASSWORD = 'picks-password-1';

async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** A viewer made by the admin (`page` is the admin's), signed in in a fresh context. */
async function newUser(page: Page, browser: Browser, baseURL: string) {
  const name = `picks${Date.now() % 1_000_000}`;
  const made = await page.request.post('/api/v1/users', {
    headers: SAME_ORIGIN,
    data: { name, role: 'viewer', password: PASSWORD },
  });
  expect(made.status()).toBe(201);
  const context = await browser.newContext({ baseURL, storageState: signedOut });
  const user = await context.newPage();
  await user.goto('/');
  await expect(user).toHaveURL(/\/login/);
  await user.getByLabel('User name').fill(name);
  await user.getByLabel('Password').fill(PASSWORD);
  await user.getByRole('button', { name: 'Sign in' }).click();
  await expect(user.getByTestId('who')).toContainText(name);
  return { context, user };
}

type Summary = { key: string; brand: string; product_type: string; sizes_in_stock: string[] };

/** Three sneakers of one brand with size 9.5 in stock, and that brand. */
async function threeOfOneBrand(page: Page) {
  const first = await page.request.get('/api/v1/products?series=Sneakers&size=9.5');
  const brand = ((await first.json()).products as Summary[])[0].brand;
  const res = await page.request.get(`/api/v1/products?brand=${encodeURIComponent(brand)}&size=9.5`);
  const mine = (await res.json()).products as Summary[];
  expect(mine.length).toBeGreaterThanOrEqual(5);
  return { brand, keys: mine.slice(0, 3).map((p) => p.key) };
}

async function noOverflow(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

test('picks learn from what a user opens and filters, say why, and can be cleared; products list related ones', async ({ page, browser, baseURL }) => {
  const { brand, keys } = await threeOfOneBrand(page);
  const { context, user } = await newUser(page, browser, baseURL!);

  // Nothing learned yet: no "For you".
  await hydrated(user);
  await expect(user.getByTestId('product').first()).toBeVisible();
  await expect(user.getByTestId('for-you')).toHaveCount(0);

  // Three products of the brand, each with related products that say why.
  for (const key of keys) {
    await user.goto(`/product/${encodeURIComponent(key)}`);
    const related = user.getByTestId('related-list').getByTestId('related');
    await expect(related.first()).toBeVisible();
    expect(await related.count()).toBeLessThanOrEqual(12);
    await expect(related.first().getByTestId('why')).toHaveText(/^(Same |Watched together)/);
    await expect(user.getByTestId('related-list').locator(`[data-key="${key}"]`)).toHaveCount(0);
  }
  // A related product's page is a click away.
  const next = user.getByTestId('related').first().locator('a').first();
  const title = (await next.textContent())!.trim();
  await next.click();
  await expect(user.locator('h1')).toHaveText(title);

  // The grid filtered by a size.
  await user.goto('/');
  await hydrated(user);
  await user.getByLabel('Size in stock').selectOption('9.5');
  await user.getByRole('button', { name: 'Apply' }).click();
  await expect(user).toHaveURL(/size=9\.5/);
  await expect(user.getByTestId('product').first().getByTestId('sizes')).toContainText('9.5');

  // "For you": the brand, in that size, none of the products opened.
  await user.goto('/');
  const forYou = user.getByTestId('for-you');
  await expect(forYou).toBeVisible();
  const picks = forYou.getByTestId('pick');
  await expect(picks.first()).toBeVisible();
  expect(await picks.count()).toBeLessThanOrEqual(6);
  await expect(picks.first().getByTestId('why')).toContainText(`your size 9.5, ${brand}`);
  for (const key of keys) {
    await expect(forYou.locator(`[data-key="${key}"]`)).toHaveCount(0);
  }
  // A pick opens its product.
  const pickTitle = (await picks.first().locator('a').first().textContent())!.trim();

  // On a phone: "For you" and "Related" fit the screen.
  await user.setViewportSize({ width: 390, height: 844 });
  await user.goto('/');
  await expect(forYou).toBeVisible();
  await noOverflow(user);
  const box = await picks.first().boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(390);
  await picks.first().locator('a').first().click();
  await expect(user.locator('h1')).toHaveText(pickTitle);
  await expect(user.getByTestId('related').first()).toBeVisible();
  await noOverflow(user);

  // Cleared: the picks go, and stay gone.
  await user.setViewportSize({ width: 1280, height: 800 });
  await user.goto('/');
  await hydrated(user);
  await forYou.getByRole('button', { name: 'Clear what Dropwatch learned' }).click();
  await expect(user.getByText(/Dropwatch forgot what it learned/)).toBeVisible();
  await expect(user.getByTestId('for-you')).toHaveCount(0);
  await user.reload();
  await expect(user.getByTestId('product').first()).toBeVisible();
  await expect(user.getByTestId('for-you')).toHaveCount(0);
  await context.close();
});
