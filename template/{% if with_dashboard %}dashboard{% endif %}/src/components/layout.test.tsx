import { screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { fakeBackend } from '@/test/backend'
import { renderApp } from '@/test/render'

const menu = async () => {
  const nav = await screen.findByRole('navigation', { name: 'Main' })
  return within(nav)
    .getAllByRole('link')
    .map((link) => link.textContent)
}

describe('menu', () => {
  const backend = () => fakeBackend().on('GET /api/v1/agent-configs', () => ({ items: [], total: 0, limit: 25, offset: 0 }))

  it('shows admins every section', async () => {
    renderApp('/agents', backend(), 'admin')
    expect(await menu()).toEqual(['Agents', 'Usage', 'Runbooks', 'Capacity', 'People'])
  })

  it('hides people management from configurators and viewers', async () => {
    renderApp('/agents', backend(), 'viewer')
    expect(await menu()).not.toContain('People')
  })

  it('explains instead of showing a page the role may not use', async () => {
    renderApp('/users', backend(), 'configurator')
    expect(await screen.findByText(/only admins can manage people/i)).toBeInTheDocument()
  })
})
