/** Configuring an agent: sign in, add an agent configuration, test it, save it, find it listed. */
import { expect, test } from '@playwright/test'
import { credentials, expectAccessible, keepScreenshot, signIn } from './helpers'

test.beforeAll(() => {
  expect(credentials.password, 'set E2E_PASSWORD to the admin password').not.toBe('')
})

test('the dashboard loads in under 3 seconds and the admin signs in', async ({ page }, info) => {
  const started = Date.now()
  await page.goto('/')
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible()
  const timing = await page.evaluate(() => {
    const [nav] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[]
    return nav.loadEventEnd - nav.startTime
  })
  const waited = Date.now() - started
  console.log(`first load: ${Math.round(timing)} ms to the load event, ${waited} ms until sign-in showed`)
  expect(waited).toBeLessThan(3000)
  expect(timing).toBeLessThan(3000)
  await expectAccessible(page, 'the sign-in page')
  await keepScreenshot(page, info, 'sign-in')
  await signIn(page)
  await expectAccessible(page, 'the agents page')
  await keepScreenshot(page, info, 'agents')
})

test('add an agent, test it with the answer streaming in, save it, find it listed', async ({ page }, info) => {
  const name = `E2E support ${Date.now()}`
  await signIn(page)
  await page.getByRole('button', { name: 'Add agent' }).click()
  await expect(page.getByRole('heading', { name: 'Add an agent' })).toBeVisible()

  await page.getByRole('button', { name: 'Save agent' }).click()
  await expect(page.getByText('Paste the app key from the HiAgent platform.')).toBeVisible()
  await expectAccessible(page, 'the add form showing mistakes')
  await keepScreenshot(page, info, 'add form with mistakes')

  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByLabel('Description').fill('Answers customer questions about orders')
  await page.getByLabel('App key').fill('app-key-e2e-stream')
  await page.getByRole('button', { name: 'Test before saving' }).click()

  const console = page.getByRole('form', { name: `Test ${name}` })
  await console.getByLabel('Your message').fill('When will my order arrive?')
  await console.getByRole('button', { name: 'Send' }).click()
  // Streaming: the first words show while the rest is still being written.
  const answer = page.getByRole('region', { name: 'Answer' })
  await expect(answer).toContainText('Orders ship')
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible()
  await expect(answer).not.toContainText('Returns are free for 30 days.')
  await keepScreenshot(page, info, 'answer streaming')
  await expect(answer).toContainText('Returns are free for 30 days.')
  await expect(page.getByText('Worked')).toBeVisible()
  await expectAccessible(page, 'the test console')
  await keepScreenshot(page, info, 'tested')

  // Save from beside the test: the same form is sent.
  await page.getByRole('button', { name: 'Save agent' }).last().click()
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible()
  await expect(page.getByText('Available', { exact: true })).toBeVisible()
  await expectAccessible(page, 'the saved agent')
  await keepScreenshot(page, info, 'saved agent')

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click()
  await page.getByLabel('Search').fill(name)
  await expect(page.getByRole('link', { name })).toBeVisible()
  await expectAccessible(page, 'the agent list')
  await keepScreenshot(page, info, 'listed')

  // The same name again: the form suggests a free one.
  await page.getByRole('button', { name: 'Add agent' }).click()
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByLabel('App key').fill('app-key-e2e')
  await page.getByRole('button', { name: 'Save agent' }).click()
  await expect(page.getByRole('button', { name: `Use “${name}-2”` })).toBeVisible()
  await expectAccessible(page, 'the duplicate-name suggestion')
  await keepScreenshot(page, info, 'duplicate name')
})

test('history shows the change and one click brings the old version back', async ({ page }, info) => {
  const name = `E2E history ${Date.now()}`
  await signIn(page)
  await page.goto('/agents/new')
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByLabel('App key').fill('app-key-history')
  await page.getByRole('button', { name: 'Save agent' }).click()
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible()

  await page.getByLabel('Wait for the whole answer (seconds)').fill('60')
  await page.getByRole('button', { name: 'Save changes' }).click()
  await expect(page.getByText('Saved as version 2.')).toBeVisible()

  await page.getByRole('link', { name: 'History' }).click()
  const changes = page.getByRole('table', { name: 'Changes in version 2' })
  await expect(changes.getByRole('row', { name: /wait for the whole answer/i })).toContainText('60 s')
  await expectAccessible(page, 'the history')
  await keepScreenshot(page, info, 'history')

  await page.getByRole('button', { name: 'Use version 1 again' }).click()
  await page.getByRole('button', { name: 'Use version 1', exact: true }).click()
  await expect(page.getByText('Version 1 is back in use, saved as version 3.')).toBeVisible()
  await keepScreenshot(page, info, 'restored')
})
