import { screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { agent, eventStream, fakeBackend } from '@/test/backend'
import { renderApp } from '@/test/render'

const stats = { requests: 40, errors: 4, error_rate: 0.1, tokens_in: 1000, tokens_out: 2000, p50: 800, p95: 2400, p99: 4000, mean: 900, max: 5000 }
const now = new Date().toISOString()

const failedCall = {
  id: 1,
  agent_config_id: 7,
  agent_name: 'Support answers',
  conversation_id: null,
  correlation_id: 'ref-42',
  duration_ms: 900,
  endpoint: '/api/v1/agents/{name_or_id}/invoke',
  error_type: 'upstream_error',
  query: 'Where is my order?',
  status: 'error',
  text_redacted: false,
  timestamp: now,
  tokens_in: 0,
  tokens_out: 0,
  user_id: 'shop-app',
}
const point = { bucket: now, requests: 3, errors: 0, tokens_in: 10, tokens_out: 20, p50: 800, p95: 2400, p99: 4000 }

function usageBackend(requests: number) {
  return fakeBackend()
    .on('GET /api/v1/agent-configs', () => ({ items: [agent()], total: 1, limit: 200, offset: 0 }))
    .on('GET /api/v1/analytics/summary', () => ({
      ...stats,
      requests,
      start: now,
      end: now,
      data_as_of: now,
      by_status: { success: 36, error: 4 },
      by_agent: requests ? [{ ...stats, agent_config_id: 7, agent_name: 'Support answers' }] : [],
    }))
    .on('GET /api/v1/analytics/timeseries', () => ({ start: now, end: now, interval: 'hour', data_as_of: now, series: [] }))
    .on('GET /api/v1/analytics/requests', () => ({ items: [], next_cursor: null, limit: 25 }))
    .on('GET /api/v1/analytics/live', () =>
      eventStream(
        [{ event: 'usage', data: { ...stats, window_start: now, window_end: now, window_minutes: 60, data_as_of: now } }],
        200,
      ),
    )
}

describe('usage', () => {
  it('shows totals, live figures and a red failure figure that leads to its runbook', async () => {
    const backend = usageBackend(40)
    renderApp('/analytics?range=7d', backend)
    // The first visit loads the page and its charts on demand.
    expect(await screen.findByTestId('total-calls', {}, { timeout: 5000 })).toHaveTextContent('40')
    expect(await screen.findByTestId('live-calls')).toHaveTextContent('40')
    expect(screen.getByRole('link', { name: 'Too many failures: what to do' })).toHaveAttribute('href', '/runbooks/high-error-rate')
    const byAgent = screen.getByRole('table', { name: 'Usage by agent' })
    expect(within(byAgent).getByRole('button', { name: 'Support answers' })).toBeInTheDocument()
    const summary = new URL(backend.requests.find((r) => r.url.includes('/summary'))!.url)
    const hours = (Date.now() - new Date(summary.searchParams.get('start')!).getTime()) / 3_600_000
    expect(Math.round(hours)).toBe(7 * 24)
    const live = backend.requests.find((r) => r.url.includes('/live'))!
    expect(live.headers.get('accept')).toBe('text/event-stream')
  })

  it('suggests what to do when there are no calls', async () => {
    renderApp('/analytics', usageBackend(0))
    expect(await screen.findByRole('heading', { name: 'No calls in this period' })).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Show the last 30 days' })).toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'Test an agent' })).toHaveAttribute('href', '/agents')
  })

  it('says in plain words why a call failed and how it came, never the raw path', async () => {
    const backend = usageBackend(40).on('GET /api/v1/analytics/requests', () => ({
      items: [failedCall, { ...failedCall, id: 2, status: 'rejected', error_type: 'disabled' }],
      next_cursor: null,
      limit: 25,
    }))
    const { user } = renderApp('/analytics?range=7d', backend)
    const calls = await screen.findByRole('table', { name: 'Calls, newest first' }, { timeout: 5000 })
    expect(within(calls).getByText('Turned away (agent turned off)')).toBeInTheDocument()
    expect(within(calls).queryByText(/busy or paused/)).not.toBeInTheDocument()

    await user.click(within(calls).getAllByRole('button')[0])
    const dialog = await screen.findByRole('dialog')
    expect(within(dialog).getByText('Failed')).toBeInTheDocument()
    expect(within(dialog).getByText('HiAgent could not handle the call.')).toBeInTheDocument()
    expect(within(dialog).getByText('From an app, whole answer')).toBeInTheDocument()
    expect(dialog).not.toHaveTextContent('/api/v1')
    expect(dialog).not.toHaveTextContent('upstream error')
    expect(within(dialog).getByRole('link', { name: 'What to do about this' })).toHaveAttribute('href', '/runbooks/hiagent-unreachable')
  })

  it('says the response time in a sentence while there is only one point to draw', async () => {
    const backend = usageBackend(3).on('GET /api/v1/analytics/timeseries', () => ({
      start: now,
      end: now,
      interval: 'hour',
      data_as_of: now,
      series: [point],
    }))
    renderApp('/analytics?range=24h', backend)
    const sentence = await screen.findByTestId('latency-sentence', {}, { timeout: 5000 })
    expect(screen.getByTestId('calls-sentence')).toHaveTextContent(/^Only one hour so far \(.+\): 3 calls, 0 failed\./)
    expect(sentence).toHaveTextContent(/^Only one hour has calls so far \(.+\): a typical call took 800 ms, and the slowest 1 in 20 took up to 2\.4 s\./)
  })
})
