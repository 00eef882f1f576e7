/** Every page passes the accessibility scan; a viewer sees what it may not do, and why. */
import { expect, test } from '@playwright/test'
import { expectAccessible, keepScreenshot, signIn } from './helpers'

test('every page, as an admin and as a viewer', async ({ page }, info) => {
  await signIn(page)
  const session = await page.evaluate(() => window.localStorage.getItem('dashboard.session'))
  const headers = { Authorization: `Bearer ${(JSON.parse(session ?? '{}') as { token: string }).token}` }
  const stamp = Date.now()
  const created = await page.request.post('/api/v1/agent-configs', {
    headers,
    data: { name: `E2E pages ${stamp}`, app_key: 'app-key-e2e-pages', config_type: 'workflow', workflow_id: 'wf-1' },
  })
  expect(created.status()).toBe(201)
  const agentId = ((await created.json()) as { id: number }).id

  const pages: [string, string][] = [
    ['/agents', 'Agents'],
    ['/agents/new', 'Add an agent'],
    [`/agents/${agentId}`, `E2E pages ${stamp}`],
    [`/agents/${agentId}/test`, `E2E pages ${stamp}`],
    [`/agents/${agentId}/history`, `E2E pages ${stamp}`],
    ['/analytics', 'Usage'],
    ['/runbooks', 'Runbooks'],
    ['/runbooks/agent-paused', 'An agent is paused after repeated failures'],
    ['/capacity', 'Capacity'],
    ['/users', 'People'],
    ['/no-such-page', 'Page not found'],
  ]
  for (const [path, heading] of pages) {
    await page.goto(path)
    await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible()
    await expectAccessible(page, path)
    await keepScreenshot(page, info, `admin ${path.replaceAll('/', ' ').trim()}`)
  }

  // A viewer: no people management in the menu; changes shown disabled, with the reason.
  const viewer = { username: `viewer${stamp}`, email: `viewer${stamp}@example.com`, password: 'viewer-password-1', role: 'viewer' }
  expect((await page.request.post('/api/v1/users', { headers, data: viewer })).status()).toBe(201)
  await page.goto('/agents')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('Username or e-mail').fill(viewer.username)
  await page.getByLabel('Password').fill(viewer.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('heading', { name: 'Agents', level: 1 })).toBeVisible()
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' })).toHaveCount(0)
  const add = page.getByRole('button', { name: 'Add agent' })
  await expect(add).toBeDisabled()
  await expect(page.getByText('Only admins and configurators can change agents.', { exact: false }).first()).toBeVisible()
  await expectAccessible(page, 'the agents page for a viewer')
  await keepScreenshot(page, info, 'viewer agents')
  await page.goto(`/agents/${agentId}/test`)
  await expect(page.getByText(/Only admins and configurators can run tests/)).toBeVisible()
  await expectAccessible(page, 'the test page for a viewer')
  await keepScreenshot(page, info, 'viewer test')
  await page.goto('/users')
  await expect(page.getByText(/Only admins can manage people/)).toBeVisible()
})
