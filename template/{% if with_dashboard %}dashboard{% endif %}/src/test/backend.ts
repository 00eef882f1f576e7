/** A stand-in for the backend in component tests: answers the API client's requests. */
import { vi } from 'vitest'

type Handler = (request: Request, params: Record<string, string>) => unknown | Response | Promise<unknown | Response>

export interface FakeBackend {
  /** Answer `METHOD /path/{param}` with JSON (or a `Response` the handler builds). */
  on: (route: string, handler: Handler) => FakeBackend
  /** Every request made, in order. */
  requests: Request[]
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

export function fakeBackend(): FakeBackend {
  const routes: { method: string; pattern: RegExp; names: string[]; handler: Handler }[] = []
  const backend: FakeBackend = {
    requests: [],
    on(route, handler) {
      const [method, path] = route.split(' ')
      const names: string[] = []
      const pattern = new RegExp(
        '^' + path.replace(/\{(\w+)\}/g, (_, name: string) => (names.push(name), '([^/]+)')) + '$',
      )
      routes.unshift({ method, pattern, names, handler })
      return backend
    },
  }
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: Request) => {
      const request = input instanceof Request ? input : new Request(input)
      backend.requests.push(request.clone())
      const url = new URL(request.url)
      for (const route of routes) {
        const match = route.method === request.method && url.pathname.match(route.pattern)
        if (match) {
          const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(match[i + 1])]))
          const result = await route.handler(request, params)
          return result instanceof Response ? result : json(result)
        }
      }
      return json({ error: { code: 'not_found', message: `No fake for ${request.method} ${url.pathname}` } }, 404)
    }),
  )
  return backend
}

export const PEOPLE = {
  admin: { permissions: ['users:manage', 'agents:configure', 'agents:test', 'analytics:read', 'read'] },
  configurator: { permissions: ['agents:configure', 'agents:test', 'analytics:read', 'read'] },
  viewer: { permissions: ['analytics:read', 'read'] },
} as const

export function me(role: keyof typeof PEOPLE) {
  return {
    id: role === 'admin' ? 1 : role === 'configurator' ? 2 : 3,
    username: role as string,
    email: `${role}@example.com`,
    role,
    active: true,
    last_login: null,
    created_at: '2026-01-01T00:00:00Z',
    permissions: [...PEOPLE[role].permissions],
  }
}

export function agent(overrides: Record<string, unknown> = {}) {
  return {
    id: 7,
    name: 'Support answers',
    description: 'Answers questions about orders',
    config_type: 'agent',
    app_key: 'app-key-123456',
    workspace_id: null,
    workflow_id: null,
    dataset_ids: [],
    tool_id: null,
    variables: {},
    enabled: true,
    version: 1,
    created_by: 1,
    updated_by: 1,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    max_concurrency: 8,
    first_token_timeout_s: 30,
    total_timeout_s: 120,
    ...overrides,
  }
}

/** A `text/event-stream` response that sends `events` one by one. */
export function eventStream(events: { event: string; data: unknown }[], status = 201): Response {
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode(': ping\n\n'))
      for (const { event, data } of events) {
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`))
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      controller.close()
    },
  })
  return new Response(body, { status, headers: { 'Content-Type': 'text/event-stream' } })
}

export function testRun(overrides: Record<string, unknown> = {}) {
  return {
    id: 1,
    agent_config_id: 7,
    test_input: { query: 'Hello?' },
    test_output: 'Hi there, how can I help?',
    status: 'success',
    error: null,
    duration_ms: 1200,
    tokens_in: 12,
    tokens_out: 8,
    tested_by: 1,
    timestamp: new Date().toISOString(),
    ...overrides,
  }
}
