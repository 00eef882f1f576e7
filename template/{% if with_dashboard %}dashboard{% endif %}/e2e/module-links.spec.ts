/** Menu links come from the modules' manifests, for the roles each link names. */
import { expect, type Page, test } from '@playwright/test'
import { expectAccessible, keepScreenshot, signIn } from './helpers'

async function signInAs(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/agents')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('Username or e-mail').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('heading', { name: 'Agents', level: 1 })).toBeVisible()
}

test('a module’s menu link shows to the roles it names only', async ({ page }, info) => {
  await signIn(page)
  const session = await page.evaluate(() => window.localStorage.getItem('dashboard.session'))
  const headers = { Authorization: `Bearer ${(JSON.parse(session ?? '{}') as { token: string }).token}` }

  // The experiments module declares its link for admins and configurators in its manifest;
  // the dashboard has no built-in entry for it.
  const menu = await page.request.get('/api/v1/dashboard/menu', { headers })
  expect(menu.status()).toBe(200)
  expect(await menu.json()).toContainEqual({ label: 'Experiments', path: '/experiments', module: 'experiments' })

  const nav = page.getByRole('navigation', { name: 'Main' })
  await nav.getByRole('link', { name: 'Experiments' }).click()
  await expect(page.getByRole('heading', { name: 'Experiments', level: 1 })).toBeVisible()
  await expect(page.getByRole('heading', { name: 'Start an experiment' })).toBeVisible()
  await expectAccessible(page, '/experiments')
  await keepScreenshot(page, info, 'admin experiments')

  const stamp = Date.now()
  const password = 'module-links-password-1'
  for (const role of ['configurator', 'viewer']) {
    const person = { username: `${role}${stamp}`, email: `${role}${stamp}@example.com`, password, role }
    expect((await page.request.post('/api/v1/users', { headers, data: person })).status()).toBe(201)
  }

  await signInAs(page, `configurator${stamp}`, password)
  await expect(nav.getByRole('link', { name: 'Experiments' })).toBeVisible()

  await signInAs(page, `viewer${stamp}`, password)
  // The built-in entries are there, so the menu has loaded; the module's link is not.
  await expect(nav.getByRole('link', { name: 'Capacity' })).toBeVisible()
  await expect.poll(async () => (await page.request.get('/api/v1/dashboard/menu', { headers: await bearer(page) })).json()).not.toContainEqual(
    expect.objectContaining({ path: '/experiments' }),
  )
  await expect(nav.getByRole('link', { name: 'Experiments' })).toHaveCount(0)
  await keepScreenshot(page, info, 'viewer menu')
})

async function bearer(page: Page): Promise<Record<string, string>> {
  const session = await page.evaluate(() => window.localStorage.getItem('dashboard.session'))
  return { Authorization: `Bearer ${(JSON.parse(session ?? '{}') as { token: string }).token}` }
}
