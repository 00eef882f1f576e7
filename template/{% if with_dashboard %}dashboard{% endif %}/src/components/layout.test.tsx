import { screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { fakeBackend, json } from '@/test/backend'
import { renderApp } from '@/test/render'

const nav = async () => within(await screen.findByRole('navigation', { name: 'Main' }))

const menu = async () =>
  (await nav())
    .getAllByRole('link')
    .map((link) => link.textContent)

const BUILT_IN = [
  { label: 'People', path: '/users', module: 'users' },
  { label: 'Agents', path: '/agents', module: 'agents' },
  { label: 'Analytics', path: '/analytics', module: 'analytics' },
  { label: 'Runbooks', path: '/runbooks', module: 'runbooks' },
  { label: 'Capacity', path: '/capacity', module: 'sizing' },
]

describe('menu', () => {
  const backend = () => fakeBackend().on('GET /api/v1/agent-configs', () => ({ items: [], total: 0, limit: 25, offset: 0 }))
  const asked = (server: ReturnType<typeof backend>) =>
    server.requests.some((request) => new URL(request.url).pathname === '/api/v1/dashboard/menu')

  it('shows admins every section', async () => {
    renderApp('/agents', backend().on('GET /api/v1/dashboard/menu', () => BUILT_IN), 'admin')
    expect(await menu()).toEqual(['Agents', 'Usage', 'Runbooks', 'Capacity', 'People'])
  })

  it('hides people management from configurators and viewers', async () => {
    renderApp('/agents', backend(), 'viewer')
    expect(await menu()).not.toContain('People')
  })

  it('adds the links other modules declare after the built-in sections', async () => {
    const server = backend().on('GET /api/v1/dashboard/menu', () => [
      ...BUILT_IN,
      { label: 'Invoices', path: '/invoices', module: 'billing' },
      { label: 'Billing reference', path: '/docs#/billing', module: 'billing' },
    ])
    const { user, router } = renderApp('/agents', server, 'admin')
    const links = await nav()
    const invoices = await links.findByRole('link', { name: 'Invoices' })
    expect(await menu()).toEqual(['Agents', 'Usage', 'Runbooks', 'Capacity', 'People', 'Invoices', 'Billing reference'])
    expect(links.getByRole('link', { name: 'Billing reference' })).toHaveAttribute('href', '/docs#/billing')
    await user.click(invoices)
    expect(router.state.location.pathname).toBe('/invoices')
    expect(invoices).toHaveAttribute('aria-current', 'page')
  })

  it('keeps the built-in sections while the menu loads', async () => {
    const server = backend().on('GET /api/v1/dashboard/menu', () => new Promise<never>(() => {}))
    renderApp('/agents', server, 'viewer')
    await waitFor(() => expect(asked(server)).toBe(true))
    expect(await menu()).toEqual(['Agents', 'Usage', 'Runbooks', 'Capacity'])
  })

  it('keeps the built-in sections when the menu cannot be loaded', async () => {
    const server = backend().on('GET /api/v1/dashboard/menu', () =>
      json({ error: { code: 'internal', message: 'Something went wrong on our side.' } }, 500),
    )
    renderApp('/agents', server, 'viewer')
    await waitFor(() => expect(asked(server)).toBe(true))
    await screen.findByRole('heading', { name: 'Agents' })
    expect(await menu()).toEqual(['Agents', 'Usage', 'Runbooks', 'Capacity'])
  })

  it('explains instead of showing a page the role may not use', async () => {
    renderApp('/users', backend(), 'configurator')
    expect(await screen.findByText(/only admins can manage people/i)).toBeInTheDocument()
  })
})
