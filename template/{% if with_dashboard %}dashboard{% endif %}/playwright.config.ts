import path from 'node:path'
import { defineConfig } from '@playwright/test'

// Runs against a started backend that serves the built dashboard (see docs/dashboard.md):
// E2E_BASE_URL, E2E_USERNAME and E2E_PASSWORD say where and as whom.
const artifacts = path.resolve(process.env.E2E_ARTIFACTS_DIR ?? 'test-artifacts')

export default defineConfig({
  testDir: './e2e',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [['list'], ['html', { outputFolder: path.join(artifacts, 'report'), open: 'never' }]],
  outputDir: path.join(artifacts, 'results'),
  use: {
    baseURL: process.env.E2E_BASE_URL ?? 'http://127.0.0.1:8000',
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'desktop', use: { browserName: 'chromium', viewport: { width: 1366, height: 900 } } },
  ],
})
