import { screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { fakeBackend, json, me } from '@/test/backend'
import { renderApp } from '@/test/render'

describe('sign-in', () => {
  it('sends signed-out people to sign in, then to the agents', async () => {
    const backend = fakeBackend()
      .on('POST /api/v1/auth/login', () => ({ access_token: 'abc', token_type: 'bearer', expires_in: 3600 }))
      .on('GET /api/v1/auth/me', () => me('admin'))
      .on('GET /api/v1/agent-configs', () => ({ items: [], total: 0, limit: 25, offset: 0 }))
    const { user } = renderApp('/agents', backend, null)

    expect(await screen.findByRole('heading', { name: /sign in/i })).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(screen.getByText('Enter your username or e-mail.')).toBeInTheDocument()
    expect(screen.getByText('Enter your password.')).toBeInTheDocument()

    await user.type(screen.getByLabelText('Username or e-mail'), 'admin')
    await user.type(screen.getByLabelText('Password'), 'secret-password')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))

    expect(await screen.findByRole('heading', { name: 'Agents' })).toBeInTheDocument()
    const login = backend.requests.find((r) => r.url.endsWith('/auth/login'))!
    expect(await login.text()).toContain('username=admin')
  })

  it('shows the reason when sign-in is refused', async () => {
    const backend = fakeBackend().on('POST /api/v1/auth/login', () =>
      json({ error: { code: 'unauthorized', message: 'Incorrect username or password.', correlation_id: 'r1' } }, 401),
    )
    const { user } = renderApp('/sign-in', backend, null)
    await user.type(await screen.findByLabelText('Username or e-mail'), 'admin')
    await user.type(screen.getByLabelText('Password'), 'wrong')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Incorrect username or password.')
  })
})
