import { render } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { createMemoryRouter, RouterProvider } from 'react-router'
import { startSession } from '@/api/client'
import { makeQueryClient, Providers, routes } from '@/App'
import { type FakeBackend, me, type PEOPLE } from './backend'

/** Render the app at `path`, signed in as `role` (or signed out), against `backend`. */
export function renderApp(path: string, backend: FakeBackend, role: keyof typeof PEOPLE | null = 'admin') {
  if (role) {
    backend.on('GET /api/v1/auth/me', () => me(role))
    startSession('test-token', 3600)
  }
  const router = createMemoryRouter(routes, { initialEntries: [path] })
  const client = makeQueryClient()
  client.setDefaultOptions({ queries: { ...client.getDefaultOptions().queries, retry: false } })
  const user = userEvent.setup()
  const view = render(
    <Providers client={client}>
      <RouterProvider router={router} />
    </Providers>,
  )
  return { ...view, user, router }
}
