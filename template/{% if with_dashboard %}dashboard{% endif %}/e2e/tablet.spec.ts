/** The main pages on a tablet held upright: nothing cut off, nothing inaccessible. */
import { expect, test } from '@playwright/test'
import { expectAccessible, keepScreenshot, signIn } from './helpers'

test.use({ viewport: { width: 768, height: 1024 } })

test('agents, an agent, usage and people fit a tablet screen', async ({ page }, info) => {
  await signIn(page)
  for (const [path, heading] of [
    ['/agents', 'Agents'],
    ['/agents/new', 'Add an agent'],
    ['/analytics', 'Usage'],
    ['/capacity', 'Capacity'],
    ['/users', 'People'],
  ]) {
    await page.goto(path)
    await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible()
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0)
    await expectAccessible(page, `${path} on a tablet`)
    await keepScreenshot(page, info, heading)
  }
})
