import { screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { agent, eventStream, fakeBackend, json, testRun } from '@/test/backend'
import { renderApp } from '@/test/render'

describe('test console', () => {
  it('shows the answer as it streams in, then how it went, and keeps it in the history', async () => {
    const runs: unknown[] = []
    const backend = fakeBackend()
      .on('GET /api/v1/agent-configs/{id}', () => agent())
      .on('GET /api/v1/agent-configs/{id}/breaker', () => ({ state: 'closed', calls: 0, failures: 0, failure_rate: 0, retry_after_s: 0 }))
      .on('GET /api/v1/agent-configs/{id}/test-runs', () => ({ items: runs, total: runs.length, limit: 20, offset: 0 }))
      .on('POST /api/v1/agent-configs/{id}/test-runs', () => {
        runs.push(testRun())
        return eventStream([
          { event: 'message', data: { text: 'Hi there, ' } },
          { event: 'message', data: { text: 'how can I help?' } },
          { event: 'done', data: testRun() },
        ])
      })
    const { user } = renderApp('/agents/7/test', backend)

    expect(await screen.findByText('Working normally.')).toBeInTheDocument()
    const send = screen.getByRole('button', { name: 'Send' })
    expect(send).toBeDisabled()
    await user.type(screen.getByLabelText('Your message'), 'Hello?')
    await user.click(send)

    const answer = await screen.findByRole('region', { name: 'Answer' })
    expect(await within(answer).findByText('Hi there, how can I help?')).toBeInTheDocument()
    const console = screen.getByRole('form', { name: 'Test Support answers' })
    expect(await within(console).findByText('Worked')).toBeInTheDocument()
    expect(within(console).getByText(/12 tokens in, 8 out/)).toBeInTheDocument()
    const request = backend.requests.find((r) => r.method === 'POST')!
    expect(request.headers.get('accept')).toBe('text/event-stream')
    expect(await request.json()).toEqual({ query: 'Hello?', variables: {} })
    expect(await screen.findByText('Hello?', { selector: 'span' })).toBeInTheDocument()
  })

  it('explains a failure in plain words and links the runbook', async () => {
    const backend = fakeBackend()
      .on('GET /api/v1/agent-configs/{id}', () => agent())
      .on('GET /api/v1/agent-configs/{id}/breaker', () => ({ state: 'open', calls: 10, failures: 6, failure_rate: 0.6, retry_after_s: 25 }))
      .on('GET /api/v1/agent-configs/{id}/test-runs', () => ({ items: [], total: 0, limit: 20, offset: 0 }))
      .on('POST /api/v1/agent-configs/{id}/test-runs', () =>
        json(
          {
            error: {
              code: 'circuit_open',
              message: 'Calls to this agent are paused for 25 s after repeated failures.',
              correlation_id: 'abc123',
            },
          },
          503,
        ),
      )
    const { user } = renderApp('/agents/7/test', backend)

    expect(await screen.findByText(/Paused for 25 s after 6 failed calls/)).toBeInTheDocument()
    await user.type(screen.getByLabelText('Your message'), 'Hello?')
    await user.click(screen.getByRole('button', { name: 'Send' }))
    const problem = await screen.findByRole('alert')
    expect(problem).toHaveTextContent('paused for 25 s')
    expect(problem).toHaveTextContent('Reference for support: abc123')
    expect(within(problem).getByRole('link', { name: 'What to do about this' })).toHaveAttribute('href', '/runbooks/agent-paused')
  })

  it('runs a workflow with its inputs and shows the output', async () => {
    const backend = fakeBackend()
      .on('GET /api/v1/agent-configs/{id}', () => agent({ config_type: 'workflow', workflow_id: 'wf-1', variables: { city: 'Paris' } }))
      .on('GET /api/v1/agent-configs/{id}/breaker', () => ({ state: 'closed', calls: 0, failures: 0, failure_rate: 0, retry_after_s: 0 }))
      .on('GET /api/v1/agent-configs/{id}/test-runs', () => ({ items: [], total: 0, limit: 20, offset: 0 }))
      .on('POST /api/v1/agent-configs/{id}/test-runs', () =>
        json(testRun({ test_input: { inputs: { city: 'Paris' } }, test_output: '{"weather": "sunny"}' }), 201),
      )
    const { user } = renderApp('/agents/7/test', backend)

    expect(await screen.findByLabelText('Input 1 value')).toHaveValue('Paris')
    expect(screen.queryByLabelText('Your message')).not.toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Run test' }))
    expect(await screen.findByText(/"weather": "sunny"/)).toBeInTheDocument()
    const request = backend.requests.find((r) => r.method === 'POST')!
    expect(request.headers.get('accept')).not.toBe('text/event-stream')
    expect(await request.json()).toEqual({ inputs: { city: 'Paris' } })
  })
})
