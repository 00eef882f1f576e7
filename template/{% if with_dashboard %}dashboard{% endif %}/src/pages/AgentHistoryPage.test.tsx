import { screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { agent, fakeBackend } from '@/test/backend'
import { renderApp } from '@/test/render'

const history = {
  total: 2,
  items: [
    {
      version: 2,
      change: 'updated',
      changed_by: 1,
      changed_at: new Date().toISOString(),
      snapshot: {},
      diff: { enabled: { from: true, to: false }, total_timeout_s: { from: 120, to: 60 } },
    },
    {
      version: 1,
      change: 'created',
      changed_by: 1,
      changed_at: '2026-01-01T00:00:00Z',
      snapshot: {},
      diff: { name: { from: null, to: 'Support answers' }, description: { from: null, to: '' } },
    },
  ],
}

describe('version history', () => {
  it('shows each change in plain words and brings an old version back', async () => {
    let restored = false
    const backend = fakeBackend()
      .on('GET /api/v1/agent-configs/{id}', () => agent({ version: restored ? 3 : 2 }))
      .on('GET /api/v1/agent-configs/{id}/versions', () => history)
      .on('POST /api/v1/agent-configs/{id}/versions/{version}/restore', () => {
        restored = true
        return agent({ version: 3 })
      })
    const { user } = renderApp('/agents/7/history', backend)

    const changes = await screen.findByRole('table', { name: 'Changes in version 2' })
    const available = within(changes).getByRole('row', { name: /available to apps/i })
    expect(available).toHaveTextContent('On')
    expect(available).toHaveTextContent('Off')
    expect(within(changes).getByRole('row', { name: /wait for the whole answer/i })).toHaveTextContent('120 s')
    const first = screen.getByRole('table', { name: 'Settings of version 1' })
    expect(within(first).getByRole('row', { name: /name/i })).toHaveTextContent('Support answers')
    expect(within(first).queryByRole('row', { name: /description/i })).not.toBeInTheDocument()

    await user.click(screen.getByRole('button', { name: 'Use version 1 again' }))
    await user.click(await screen.findByRole('button', { name: 'Use version 1' }))
    expect(await screen.findByText('Version 1 is back in use, saved as version 3.')).toBeInTheDocument()
    expect(backend.requests.some((r) => r.method === 'POST' && r.url.endsWith('/versions/1/restore'))).toBe(true)
  })

  it('lets viewers read the history but not restore', async () => {
    const backend = fakeBackend()
      .on('GET /api/v1/agent-configs/{id}', () => agent({ version: 2 }))
      .on('GET /api/v1/agent-configs/{id}/versions', () => history)
    renderApp('/agents/7/history', backend, 'viewer')
    const restore = await screen.findByRole('button', { name: 'Use version 1 again' })
    expect(restore).toBeDisabled()
    expect(restore).toHaveAccessibleDescription(/only admins and configurators/i)
  })
})
