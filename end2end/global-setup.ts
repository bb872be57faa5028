import { request } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

// The server under test starts with `--admin-password` (see scripts/test.sh):
// sign in once as that admin and keep the session cookie for every test's
// browser context. Tests about signing in start from an empty context.
export const ADMIN = { name: 'admin', password: 'e2e-admin-password' };
export const ADMIN_STATE = path.join(__dirname, '.auth', 'admin.json');
export const BASE_URL = process.env.BASE_URL ?? 'http://127.0.0.1:3300';
// A change made with the session cookie must say it comes from Dropwatch's
// own pages, as a browser's would: `page.request` calls that change
// something (the demo's control API needs an editor or admin) send this.
export const SAME_ORIGIN = { Origin: new URL(BASE_URL).origin };

export default async function globalSetup() {
  const baseURL = BASE_URL;
  const ctx = await request.newContext({ baseURL });
  const res = await ctx.post('/auth/login', {
    form: { name: ADMIN.name, password: ADMIN.password, next: '/' },
    maxRedirects: 0,
  });
  if (res.status() !== 303) {
    throw new Error(`signing in as the e2e admin failed: ${res.status()} ${await res.text()}`);
  }
  fs.mkdirSync(path.dirname(ADMIN_STATE), { recursive: true });
  await ctx.storageState({ path: ADMIN_STATE });
  await ctx.dispose();
}
