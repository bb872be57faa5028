import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// Benchmarks (not tests): scripts/bench-ui.sh runs them against a release server.
export default defineConfig({
  ...base,
  testDir: './bench',
  timeout: 600_000,
});
