import { screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { agent, fakeBackend, json } from '@/test/backend'
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
})
