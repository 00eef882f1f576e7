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
        source: body.use_observed ? 'observed over the last 7 days' : 'expected',
        recommendations: [
          { key: 'api_instances', label: 'API instances', value: used.peak_requests_per_minute > 1000 ? 4 : 2, unit: 'instances', reason: 'one instance holds about 200 calls at once' },
        ],
      }
    })
    const { user } = renderApp('/capacity', backend)

    expect(await screen.findByText('Based on observed over the last 7 days.')).toBeInTheDocument()
    expect(screen.getByLabelText('Calls in the busiest minute')).toHaveValue(120)
    expect(bodies[0]).toEqual({ use_observed: true })

    await user.clear(screen.getByLabelText('Calls in the busiest minute'))
    await user.type(screen.getByLabelText('Calls in the busiest minute'), '5000')
    await user.click(screen.getByRole('button', { name: 'Recommend' }))
    const table = await screen.findByRole('table', { name: 'Recommended resources' })
    expect(await within(table).findByText('4 instances')).toBeInTheDocument()
    expect(bodies.at(-1)).toMatchObject({ peak_requests_per_minute: 5000, average_call_seconds: 6 })
  })
})
