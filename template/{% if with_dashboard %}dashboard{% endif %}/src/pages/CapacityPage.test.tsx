import { screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { fakeBackend } from '@/test/backend'
import { renderApp } from '@/test/render'

const inputs = {
  peak_requests_per_minute: 120,
  average_call_seconds: 6,
  average_tokens_per_call: 1500,
  hot_retention_days: 90,
  cold_retention_days: 365,
  db_pool_size: 10,
  db_max_overflow: 10,
  server_processes: 1,
}

describe('capacity', () => {
  it("starts from last week's traffic, then recommends for the load you enter", async () => {
    const bodies: Record<string, unknown>[] = []
    const backend = fakeBackend().on('POST /api/v1/sizing', async (request) => {
      const body = (await request.json()) as Record<string, unknown>
      bodies.push(body)
      const used = { ...inputs, ...body }
      delete (used as Record<string, unknown>).use_observed
      return {
        inputs: used,
        source: body.use_observed ? "last week's calls" : 'the figures you entered',
        worker: false,
        recommendations: [
          { key: 'api_instances', label: 'Copies of the service', value: used.peak_requests_per_minute > 1000 ? 4 : 2, unit: 'copies', reason: 'one copy holds about 200 calls at once' },
        ],
      }
    })
    const { user } = renderApp('/capacity', backend)

    expect(await screen.findByText("Based on last week's calls.")).toBeInTheDocument()
    expect(screen.getByLabelText('Calls in the busiest minute')).toHaveValue(120)
    expect(bodies[0]).toEqual({ use_observed: true })

    await user.clear(screen.getByLabelText('Calls in the busiest minute'))
    await user.type(screen.getByLabelText('Calls in the busiest minute'), '5000')
    await user.click(screen.getByRole('button', { name: 'Recommend' }))
    const table = await screen.findByRole('table', { name: 'Recommended resources' })
    expect(await within(table).findByText('4 copies')).toBeInTheDocument()
    expect(bodies.at(-1)).toMatchObject({ peak_requests_per_minute: 5000, average_call_seconds: 6 })
  })

  it('writes one of anything as one, and keeps setting names folded away for engineers', async () => {
    const backend = fakeBackend().on('POST /api/v1/sizing', () => ({
      inputs: { ...inputs, background_tasks_per_minute: 10, task_result_hours: 168 },
      source: 'the figures you entered',
      worker: true,
      recommendations: [
        { key: 'concurrent_calls', label: 'Calls in progress at the peak', value: 1, unit: 'calls', reason: '0.15 s each', setting: null },
        {
          key: 'hiagent_max_concurrency',
          label: 'Calls to HiAgent at the same time, per copy',
          value: 1,
          unit: 'calls',
          reason: 'shared between the copies',
          setting: 'HIAGENT_MAX_CONCURRENCY',
        },
        { key: 'worker_processes', label: 'Background worker processes', value: 1, unit: 'processes', reason: 'r', setting: 'worker --processes' },
      ],
    }))
    renderApp('/capacity', backend)
    const table = await screen.findByRole('table', { name: 'Recommended resources' })
    expect(within(table).getAllByText('1 call')).toHaveLength(2)
    expect(within(table).getByText('1 process')).toBeInTheDocument()
    expect(within(table).queryByText('1 calls')).not.toBeInTheDocument()
    expect(table).not.toHaveTextContent('HIAGENT_MAX_CONCURRENCY')
    expect(screen.getByText('For engineers: where each figure is set')).toBeInTheDocument()
    expect(screen.getByText('HIAGENT_MAX_CONCURRENCY')).not.toBeVisible()
    // With the worker, its load can be entered too.
    expect(screen.getByLabelText('Background tasks in the busiest minute')).toHaveValue(10)
  })

  it('asks nothing about the worker in a product without it', async () => {
    const backend = fakeBackend().on('POST /api/v1/sizing', () => ({ inputs, source: 'the figures you entered', worker: false, recommendations: [] }))
    renderApp('/capacity', backend)
    expect(await screen.findByText('Based on the figures you entered.')).toBeInTheDocument()
    expect(screen.queryByLabelText('Background tasks in the busiest minute')).not.toBeInTheDocument()
  })
})
