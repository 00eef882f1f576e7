/** Monitoring usage: filters, drill-down into the calls, and a live update when a call happens. */
import { type APIRequestContext, expect, type Page, test } from '@playwright/test'
import { expectAccessible, keepScreenshot, signIn } from './helpers'

const stamp = Date.now()
const working = `E2E usage ${stamp}`
const failing = `E2E failing ${stamp}`

async function apiAs(page: Page): Promise<{ request: APIRequestContext; headers: Record<string, string> }> {
  const session = await page.evaluate(() => window.localStorage.getItem('dashboard.session'))
  const token = (JSON.parse(session ?? '{}') as { token?: string }).token
  expect(token, 'signed in').toBeTruthy()
  return { request: page.request, headers: { Authorization: `Bearer ${token}` } }
}

/** What an app does: ask an agent by its name (failures are expected for the failing one). */
async function ask(page: Page, agent: string, query: string): Promise<void> {
  const { request, headers } = await apiAs(page)
  await request.post(`/api/v1/agents/${encodeURIComponent(agent)}/invoke`, { headers, data: { query } })
}

async function choose(page: Page, label: string, option: string): Promise<void> {
  await page.getByRole('combobox', { name: label }).click()
  await page.getByRole('option', { name: option, exact: true }).click()
}

test('usage: filters, drill-down and a live update when a call happens', async ({ page }, info) => {
  await signIn(page)
  const { request, headers } = await apiAs(page)
  for (const [name, key] of [
    [working, 'app-key-e2e-usage'],
    [failing, 'app-key-e2e-failing'],
  ]) {
    const created = await request.post('/api/v1/agent-configs', { headers, data: { name, app_key: key } })
    expect(created.status()).toBe(201)
  }
  for (const question of ['Where is my order?', 'Can I return shoes?', 'Do you ship abroad?']) await ask(page, working, question)
  await ask(page, failing, 'Will this work?')
  await ask(page, failing, 'And now?')

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage' }).click()
  await expect(page.getByRole('heading', { name: 'Usage', level: 1 })).toBeVisible()
  await expect(page.getByText('Live', { exact: true })).toBeVisible()
  await expect(page.getByText(/Figures up to/)).toBeVisible()
  await expect(page.getByRole('table', { name: 'Usage by agent' }).getByRole('button', { name: working })).toBeVisible()
  await expectAccessible(page, 'the usage overview')
  await keepScreenshot(page, info, 'overview')

  // Filter by agent: the failing one turns the failure figure red, with the runbook.
  await choose(page, 'Agent', failing)
  await expect(page.getByRole('link', { name: 'Too many failures: what to do' })).toBeVisible()
  await expectAccessible(page, 'a failing agent')
  await keepScreenshot(page, info, 'failing agent')

  // Filter by outcome: nothing worked for it, and the empty state says what to try.
  await choose(page, 'Outcome', 'Worked')
  await expect(page.getByRole('heading', { name: 'No calls in this period' })).toBeVisible()
  await expectAccessible(page, 'the empty state')
  await keepScreenshot(page, info, 'no calls match')
  await choose(page, 'Outcome', 'Any outcome')
  await choose(page, 'Time range', 'Last hour')
  await choose(page, 'Agent', 'All agents')

  // Drill down: one agent, then one call.
  await page.getByRole('table', { name: 'Usage by agent' }).getByRole('button', { name: working }).click()
  await expect(page).toHaveURL(/agent=/)
  await expect(page.getByTestId('total-calls')).toHaveText('3')
  const calls = page.getByRole('table', { name: 'Calls, newest first' })
  await expect(calls.getByRole('row')).toHaveCount(4)
  await calls.getByRole('row').nth(1).getByRole('button').click()
  const details = page.getByRole('dialog')
  await expect(details).toContainText('Do you ship abroad?')
  await expect(details).toContainText('Worked')
  await expectAccessible(page, 'the details of a call')
  await keepScreenshot(page, info, 'call details')
  await page.keyboard.press('Escape')

  // Live: a new call shows up without reloading the page.
  await expect(page.getByTestId('live-calls')).toHaveText('3')
  await ask(page, working, 'One more question')
  await expect(page.getByTestId('live-calls')).toHaveText('4', { timeout: 15_000 })
  await expect(page.getByTestId('total-calls')).toHaveText('4', { timeout: 15_000 })
  await keepScreenshot(page, info, 'after a live update')

  // A red figure leads to its runbook.
  await choose(page, 'Agent', failing)
  await page.getByRole('link', { name: 'Too many failures: what to do' }).click()
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
  await expect(page).toHaveURL(/\/runbooks\/high-error-rate$/)
  await expectAccessible(page, 'a runbook')
  await keepScreenshot(page, info, 'runbook')
})
