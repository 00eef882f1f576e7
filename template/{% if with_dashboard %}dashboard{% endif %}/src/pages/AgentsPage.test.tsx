import { cleanup, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { agent, type FakeBackend, fakeBackend } from '@/test/backend'
import { renderApp } from '@/test/render'

const page = (items: unknown[]) => ({ items, total: items.length, limit: 25, offset: 0 })

/** The latest request for the agent list (the menu loads alongside it). */
const lastListRequest = (backend: FakeBackend) =>
  new URL(backend.requests.filter((request) => new URL(request.url).pathname === '/api/v1/agent-configs').at(-1)!.url)

describe('agent browser', () => {
  it('lists agents with their type and status in plain words', async () => {
    const backend = fakeBackend().on('GET /api/v1/agent-configs', () =>
      page([agent(), agent({ id: 8, name: 'Order lookup', config_type: 'retriever', enabled: false })]),
    )
    renderApp('/agents', backend)
    const table = await screen.findByRole('table')
    const rows = within(table).getAllByRole('row')
    expect(rows).toHaveLength(3)
    expect(within(rows[1]).getByRole('link', { name: 'Support answers' })).toHaveAttribute('href', '/agents/7')
    expect(rows[2]).toHaveTextContent('Knowledge search')
    expect(rows[2]).toHaveTextContent('Turned off')
  })

  it('searches as you type and says when nothing matches', async () => {
    const backend = fakeBackend().on('GET /api/v1/agent-configs', (request) => {
      const search = new URL(request.url).searchParams.get('search')
      return page(search ? [] : [agent()])
    })
    const { user } = renderApp('/agents', backend)
    await screen.findByRole('table')
    await user.type(screen.getByLabelText('Search'), 'nothing like this')
    expect(await screen.findByRole('heading', { name: 'No agents match' })).toBeInTheDocument()
    const last = lastListRequest(backend)
    expect(last.searchParams.get('search')).toBe('nothing like this')

    await user.click(screen.getByRole('button', { name: 'Clear search and filters' }))
    expect(await screen.findByRole('table')).toBeInTheDocument()
    expect(screen.getByLabelText('Search')).toHaveValue('')
  })

  it('invites a first agent when there are none', async () => {
    const backend = fakeBackend().on('GET /api/v1/agent-configs', () => page([]))
    renderApp('/agents', backend)
    expect(await screen.findByRole('heading', { name: 'No agents yet' })).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Add the first agent' })).toBeEnabled()
  })

  it('shows viewers the add button disabled, with the reason', async () => {
    const backend = fakeBackend().on('GET /api/v1/agent-configs', () => page([agent()]))
    renderApp('/agents', backend, 'viewer')
    const add = await screen.findByRole('button', { name: 'Add agent' })
    expect(add).toBeDisabled()
    expect(add).toHaveAccessibleDescription(/only admins and configurators can change agents/i)
  })

  it('passes the type and status filters to the server', async () => {
    const backend = fakeBackend().on('GET /api/v1/agent-configs', () => page([agent()]))
    const { user } = renderApp('/agents?type=workflow&status=off&sort=-updated_at', backend)
    await screen.findByRole('table')
    const url = lastListRequest(backend)
    expect(url.searchParams.get('config_type')).toBe('workflow')
    expect(url.searchParams.get('enabled')).toBe('false')
    expect(url.searchParams.get('sort')).toBe('-updated_at')
    expect(screen.getByRole('combobox', { name: 'Type' })).toHaveTextContent('Workflow')

    await user.click(screen.getByRole('combobox', { name: 'Status' }))
    await user.click(await screen.findByRole('option', { name: 'Available' }))
    await waitFor(() => expect(lastListRequest(backend).searchParams.get('enabled')).toBe('true'))
  })

  it('tells the truth when HiAgent cannot be reached, and which agents are paused or failing', async () => {
    const list = () => page([agent(), agent({ id: 8, name: 'Order lookup', enabled: false }), agent({ id: 9, name: 'Refunds' })])
    let reachable = true
    const backend = fakeBackend()
      .on('GET /api/v1/agent-configs', list)
      .on('GET /api/v1/hiagent/status', () =>
        reachable
          ? { reachable: true, message: '', paused: [9], failing: [] }
          : { reachable: false, message: 'HiAgent cannot be reached right now. Try again in a moment.', paused: [], failing: [] },
      )
    renderApp('/agents', backend)
    let table = await screen.findByRole('table')
    await waitFor(() => expect(within(table).getAllByRole('row')[3]).toHaveTextContent('Paused after failures'))
    expect(within(table).getAllByRole('row')[1]).toHaveTextContent('Available')
    cleanup()

    reachable = false
    renderApp('/agents', backend)
    table = await screen.findByRole('table')
    await waitFor(() => expect(within(table).getAllByRole('row')[1]).toHaveTextContent('Cannot reach HiAgent'))
    expect(within(table).getAllByRole('row')[2]).toHaveTextContent('Turned off')
    expect(table).not.toHaveTextContent('Available')
    expect(screen.getByText('No agent can answer right now')).toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'What to do about this' })).toHaveAttribute('href', '/runbooks/hiagent-unreachable')
  })
})
