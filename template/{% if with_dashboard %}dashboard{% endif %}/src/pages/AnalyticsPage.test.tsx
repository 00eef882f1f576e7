import { screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { agent, eventStream, fakeBackend } from '@/test/backend'
import { renderApp } from '@/test/render'

const stats = { requests: 40, errors: 4, error_rate: 0.1, tokens_in: 1000, tokens_out: 2000, p50: 800, p95: 2400, p99: 4000, mean: 900, max: 5000 }
const now = new Date().toISOString()

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
})
