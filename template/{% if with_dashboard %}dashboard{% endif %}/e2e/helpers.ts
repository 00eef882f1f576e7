import path from 'node:path'
import AxeBuilder from '@axe-core/playwright'
import { expect, type Page, type TestInfo } from '@playwright/test'

export const credentials = {
  username: process.env.E2E_USERNAME ?? 'admin',
  password: process.env.E2E_PASSWORD ?? '',
}

const screenshots = path.resolve(process.env.E2E_ARTIFACTS_DIR ?? 'test-artifacts', 'screenshots')

/** Keep a full-page picture as a test artifact (and attach it to the report). */
export async function keepScreenshot(page: Page, info: TestInfo, name: string): Promise<void> {
  const file = path.join(screenshots, `${info.titlePath.slice(1).join(' - ').replace(/[^\w -]+/g, '')} - ${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  await info.attach(name, { path: file, contentType: 'image/png' })
}

/** Zero WCAG 2.1 A/AA violations on what the page shows now. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
  const summary = results.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  expect(summary, `accessibility problems on ${where}`).toEqual([])
}

export async function signIn(page: Page): Promise<void> {
  await page.goto('/')
  await page.getByLabel('Username or e-mail').fill(credentials.username)
  await page.getByLabel('Password').fill(credentials.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('heading', { name: 'Agents', level: 1 })).toBeVisible()
}
