/** What a configurator reads when an app key is wrong, against the real backend and emulator:
 * plain words and the app-key runbook; and "Test before saving" leaves nothing behind. */
import { expect, test } from '@playwright/test'
import { credentials, expectAccessible, keepScreenshot, signIn } from './helpers'

test.beforeAll(() => {
  expect(credentials.password, 'set E2E_PASSWORD to the admin password').not.toBe('')
})

test('a refused app key is said plainly, and trying it keeps no draft', async ({ page }, info) => {
  const name = `E2E key ${Date.now()}`
  await signIn(page)
  await page.getByRole('button', { name: 'Add agent' }).click()
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByLabel('App key').fill('app-key-e2e-rejected')

  // Check with HiAgent, before anything is saved.
  await page.getByRole('button', { name: 'Check with HiAgent' }).click()
  await expect(page.getByText(/^HiAgent did not accept this app key\./).first()).toBeVisible()
  await expect(page.getByText(/InvalidApiKey/).first()).toBeVisible()
  await expectAccessible(page, 'the app key check')
  await keepScreenshot(page, info, 'key refused')

  // Test before saving: the same plain words, and the runbook about app keys.
  await page.getByRole('button', { name: 'Test before saving' }).click()
  const console = page.getByRole('form', { name: `Test ${name}` })
  await console.getByLabel('Your message').fill('Hello?')
  await console.getByRole('button', { name: 'Send' }).click()
  const problem = page.getByRole('alert').filter({ hasText: 'The test did not work' })
  await expect(problem).toContainText('HiAgent did not accept this app key.')
  // The technical cause is there for engineers, folded away.
  await expect(problem.getByText(/create_conversation/)).toBeHidden()
  await expect(problem.getByText('Details for engineers')).toBeVisible()
  await expect(problem.getByRole('link', { name: 'What to do about this' })).toHaveAttribute('href', '/runbooks/app-key-rejected')
  await keepScreenshot(page, info, 'test refused')
  await problem.getByRole('link', { name: 'What to do about this' }).click()
  await expect(page.getByRole('heading', { name: 'HiAgent did not accept an app key', level: 1 })).toBeVisible()

  // Nothing was kept: the name is not listed and is still free.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click()
  await page.getByLabel('Search').fill(name)
  await expect(page.getByRole('heading', { name: 'No agents match' })).toBeVisible()
  await page.getByRole('button', { name: 'Add agent' }).click()
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByLabel('App key').fill('app-key-e2e-stream')
  await page.getByRole('button', { name: 'Save agent' }).click()
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible()
})
