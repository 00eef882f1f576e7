import { screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { agent, eventStream, fakeBackend, json } from '@/test/backend'
import { renderApp } from '@/test/render'

describe('adding an agent', () => {
  it('checks the form before sending it', async () => {
    const backend = fakeBackend()
    const { user } = renderApp('/agents/new', backend)
    await user.click(await screen.findByRole('button', { name: 'Save agent' }))
    expect(screen.getByLabelText('Name')).toHaveAccessibleDescription(/give it a name people will recognise/i)
    expect(screen.getByLabelText('App key')).toHaveAccessibleDescription(/paste the app key/i)
    expect(backend.requests.some((r) => r.method === 'POST')).toBe(false)

    await user.type(screen.getByLabelText('Name'), '12345')
    await user.tab()
    expect(screen.getByLabelText('Name')).toHaveAccessibleDescription(/cannot be only digits/i)
  })

  it('asks for the fields each type needs', async () => {
    const { user } = renderApp('/agents/new', fakeBackend())
    await user.click(await screen.findByRole('combobox', { name: 'Type' }))
    await user.click(await screen.findByRole('option', { name: 'Workflow' }))
    await user.click(screen.getByRole('button', { name: 'Save agent' }))
    expect(screen.getByLabelText('Workflow ID')).toHaveAccessibleDescription(/a workflow needs its workflow id/i)
    expect(screen.queryByLabelText('Tool ID')).not.toBeInTheDocument()
  })

  it('offers a free name when the chosen one is taken, then saves', async () => {
    const bodies: Record<string, unknown>[] = []
    const backend = fakeBackend()
      .on('POST /api/v1/agent-configs', async (request) => {
        const body = (await request.json()) as Record<string, unknown>
        bodies.push(body)
        if (body.name === 'Support answers')
          return json(
            {
              error: {
                code: 'conflict',
                message: "The name 'Support answers' is already used. Try 'Support answers-2'.",
                correlation_id: 'c1',
                field: 'name',
                suggested_name: 'Support answers-2',
              },
            },
            409,
          )
        return json(agent({ id: 9, name: body.name }), 201)
      })
      .on('GET /api/v1/agent-configs/{id}', ({ url }) => agent({ id: Number(url.split('/').pop()), name: 'Support answers-2' }))
    const { user, router } = renderApp('/agents/new', backend)

    await user.type(await screen.findByLabelText('Name'), 'Support answers')
    await user.type(screen.getByLabelText('App key'), 'key-from-hiagent')
    await user.click(screen.getByRole('button', { name: 'Add an input' }))
    await user.type(screen.getByLabelText('Input 1 name'), 'language')
    await user.type(screen.getByLabelText('Input 1 value'), 'en')
    await user.click(screen.getByRole('button', { name: 'Save agent' }))

    expect(await screen.findByText(/“Support answers-2” is free/)).toBeInTheDocument()
    expect(screen.getByLabelText('Name')).toHaveAccessibleDescription(/another agent is already called/i)
    await user.click(screen.getByRole('button', { name: 'Use “Support answers-2”' }))
    await user.click(screen.getByRole('button', { name: 'Save agent' }))

    expect(await screen.findByRole('heading', { name: 'Support answers-2' })).toBeInTheDocument()
    expect(router.state.location.pathname).toBe('/agents/9')
    expect(bodies[1]).toMatchObject({
      name: 'Support answers-2',
      app_key: 'key-from-hiagent',
      config_type: 'agent',
      variables: { language: 'en' },
      enabled: true,
    })
  })

  it('tests the settings before saving without keeping anything, then saves once', async () => {
    const tried: Record<string, unknown>[] = []
    const saved: Record<string, unknown>[] = []
    const backend = fakeBackend()
      .on('POST /api/v1/agent-configs/draft-test-runs', async (request) => {
        tried.push((await request.json()) as Record<string, unknown>)
        const run = { test_input: { query: 'Hello?' }, test_output: 'Hi!', status: 'success', error: null, duration_ms: 300, tokens_in: 1, tokens_out: 1 }
        return eventStream([{ event: 'message', data: { text: 'Hi!' } }, { event: 'done', data: run }], 200)
      })
      .on('POST /api/v1/agent-configs', async (request) => {
        saved.push((await request.json()) as Record<string, unknown>)
        return json(agent({ id: 9, name: 'Order help' }), 201)
      })
      .on('GET /api/v1/agent-configs/{id}', () => agent({ id: 9, name: 'Order help' }))
    const { user, router } = renderApp('/agents/new', backend)

    await user.type(await screen.findByLabelText('Name'), 'Order help')
    await user.type(screen.getByLabelText('App key'), 'key-from-hiagent')
    await user.click(screen.getByRole('button', { name: 'Test before saving' }))
    expect(await screen.findByText(/Nothing is saved while you try it/)).toBeInTheDocument()
    await user.type(screen.getByLabelText('Your message'), 'Hello?')
    await user.click(screen.getByRole('button', { name: 'Send' }))
    expect(await screen.findByText('Worked')).toBeInTheDocument()

    expect(tried).toHaveLength(1)
    expect(tried[0]).toMatchObject({ config: { name: 'Order help', app_key: 'key-from-hiagent', enabled: true }, test: { query: 'Hello?' } })
    expect(saved).toHaveLength(0) // no turned-off draft was stored to try it

    await user.click(screen.getAllByRole('button', { name: 'Save agent' })[0])
    expect(await screen.findByRole('heading', { name: 'Order help' })).toBeInTheDocument()
    expect(router.state.location.pathname).toBe('/agents/9')
    expect(saved).toHaveLength(1)
    expect(backend.requests.some((r) => r.method === 'PATCH')).toBe(false)
  })

  it('checks the app key with HiAgent before saving, in plain words', async () => {
    const keys: unknown[] = []
    const backend = fakeBackend().on('POST /api/v1/agent-configs/app-key-check', async (request) => {
      const body = (await request.json()) as { app_key: string }
      keys.push(body.app_key)
      return body.app_key === 'good-key'
        ? { verdict: 'accepted', message: 'HiAgent accepted this app key. It belongs to the app “Order help”.', runbook: null }
        : { verdict: 'rejected', message: 'HiAgent did not accept this app key.', runbook: 'app-key-rejected' }
    })
    const { user } = renderApp('/agents/new', backend)

    await user.type(await screen.findByLabelText('App key'), 'typo-key')
    await user.click(screen.getByRole('button', { name: 'Check with HiAgent' }))
    expect(await screen.findByText(/^HiAgent did not accept this app key\./)).toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'What to do about this' })).toHaveAttribute('href', '/runbooks/app-key-rejected')

    await user.clear(screen.getByLabelText('App key'))
    await user.type(screen.getByLabelText('App key'), 'good-key')
    await user.click(screen.getByRole('button', { name: 'Check with HiAgent' }))
    expect(await screen.findByText(/HiAgent accepted this app key/)).toBeInTheDocument()
    expect(keys).toEqual(['typo-key', 'good-key'])
    expect(backend.requests.some((r) => new URL(r.url).pathname === '/api/v1/agent-configs')).toBe(false)
  })
})
