import { screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { agent, fakeBackend, json } from '@/test/backend'
import { renderApp } from '@/test/render'

function variant(name: string, overrides: Record<string, unknown> = {}) {
  return { config_name: name, calls: 0, failures: 0, failure_rate: 0, p95_ms: null, tokens_in: 0, tokens_out: 0, ...overrides }
}

function experiment(overrides: Record<string, unknown> = {}) {
  return {
    id: 1,
    name: 'Shorter prompt',
    status: 'running',
    config_id: 1,
    config_name: 'support-bot',
    challenger_id: 2,
    challenger_name: 'support-bot-v2',
    challenger_share: 50,
    min_calls: 100,
    max_error_rate_increase: 0.05,
    max_p95_increase: 0.5,
    stop_reason: null,
    stopped_automatically: false,
    started_at: '2026-12-01T10:00:00Z',
    stopped_at: null,
    results: {
      current: variant('support-bot', { calls: 120, failures: 1, failure_rate: 0.0083, p95_ms: 800, tokens_in: 1000, tokens_out: 2000 }),
      challenger: variant('support-bot-v2', { calls: 118, failures: 30, failure_rate: 0.2542, p95_ms: 1500, tokens_in: 900, tokens_out: 1500 }),
      summary: 'support-bot-v2 answered 118 calls and failed 25% of them; support-bot answered 120 calls and failed 1%.',
    },
    ...overrides,
  }
}

const AGENTS = {
  items: [agent({ id: 1, name: 'support-bot' }), agent({ id: 2, name: 'support-bot-v2' })],
  total: 2,
  limit: 200,
  offset: 0,
}

describe('experiments', () => {
  it('shows each version’s results in plain words, and why a stopped one stopped', async () => {
    const stopped = experiment({
      id: 2,
      name: 'Cheaper model',
      status: 'stopped',
      stopped_automatically: true,
      stopped_at: '2026-12-02T10:00:00Z',
      stop_reason: 'Stopped automatically: support-bot-v2 failed 25% of its calls against 1% for support-bot.',
    })
    const backend = fakeBackend()
      .on('GET /api/v1/experiments', () => ({ items: [experiment(), stopped], total: 2 }))
      .on('GET /api/v1/agent-configs', () => AGENTS)
    renderApp('/experiments', backend, 'configurator')

    const running = (await screen.findByRole('heading', { name: 'Shorter prompt' })).closest('li') as HTMLElement
    expect(within(running).getByText('Running')).toBeInTheDocument()
    const rows = within(running).getAllByRole('row')
    expect(rows[1]).toHaveTextContent(/support-bot\s*Current\s*120\s*1 \(0.8%\)\s*800 ms\s*3,000/)
    expect(rows[2]).toHaveTextContent(/support-bot-v2\s*New\s*118\s*30 \(25%\)\s*1.5 s\s*2,400/)
    expect(within(running).getByText(/failed 25% of them/)).toBeInTheDocument()
    expect(within(running).getByRole('button', { name: 'Stop Shorter prompt' })).toBeInTheDocument()

    const history = screen.getByRole('heading', { name: 'Cheaper model' }).closest('li') as HTMLElement
    expect(within(history).getByText('Stopped automatically', { selector: 'span' })).toBeInTheDocument()
    expect(within(history).getByText(/failed 25% of its calls against 1%/)).toBeInTheDocument()
    expect(within(history).queryByRole('button', { name: /Stop/ })).toBeNull()
  })

  it('starts an experiment and stops one', async () => {
    const list = [experiment()]
    let started: Record<string, unknown> | null = null
    const backend = fakeBackend()
      .on('GET /api/v1/experiments', () => ({ items: list, total: list.length }))
      .on('GET /api/v1/agent-configs', () => AGENTS)
      .on('POST /api/v1/experiments', async (request) => {
        started = (await request.json()) as Record<string, unknown>
        if (started.config_id === 1)
          return json({ error: { code: 'conflict', message: "'support-bot' already has a running experiment: stop it first." } }, 409)
        return json(experiment({ id: 3, name: started.name }), 201)
      })
      .on('POST /api/v1/experiments/{id}/stop', (_request, params) => {
        list[0] = experiment({ status: 'stopped', stop_reason: 'Stopped by admin.', stopped_at: '2026-12-02T10:00:00Z' })
        return { ...list[0], id: Number(params.id) }
      })
    const { user } = renderApp('/experiments', backend, 'admin')

    await screen.findByRole('heading', { name: 'Shorter prompt' })
    await user.click(screen.getByRole('button', { name: 'Start experiment' }))
    expect(await screen.findByText('Choose the current agent and the new version.')).toBeInTheDocument()
    await screen.findAllByRole('option', { name: 'support-bot-v2' })
    await user.selectOptions(screen.getByLabelText('Current agent'), 'support-bot')
    await user.selectOptions(screen.getByLabelText('New version'), 'support-bot-v2')
    await user.clear(screen.getByLabelText('Share of users on the new version (%)'))
    await user.type(screen.getByLabelText('Share of users on the new version (%)'), '20')
    await user.click(screen.getByRole('button', { name: 'Start experiment' }))
    expect(await screen.findByText(/already has a running experiment/)).toBeInTheDocument()
    expect(started).toEqual({
      name: 'support-bot-v2 trial',
      config_id: 1,
      challenger_id: 2,
      challenger_share: 20,
      min_calls: 100,
      max_error_rate_increase: 0.05,
      max_p95_increase: 0.5,
    })

    await user.click(screen.getByRole('button', { name: 'Stop Shorter prompt' }))
    expect(await screen.findByText('Stopped by admin.')).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Stop Shorter prompt' })).toBeNull()
  })

  it('lets viewers read the results but not start or stop', async () => {
    const backend = fakeBackend().on('GET /api/v1/experiments', () => ({ items: [experiment()], total: 1 }))
    renderApp('/experiments', backend, 'viewer')
    await screen.findByRole('heading', { name: 'Shorter prompt' })
    expect(screen.queryByRole('heading', { name: 'Start an experiment' })).toBeNull()
    expect(screen.queryByRole('button', { name: /Stop/ })).toBeNull()
    const nav = screen.getByRole('navigation', { name: 'Main' })
    expect(within(nav).queryByRole('link', { name: 'Experiments' })).toBeNull()
  })
})
