import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import * as React from 'react'
import { createBrowserRouter, Navigate, Outlet, RouterProvider, useLocation } from 'react-router'
import { ApiError } from '@/api/client'
import { type Permission, SessionProvider, useSession } from '@/auth/session'
import { Layout } from '@/components/layout'
import { NotificationsProvider } from '@/components/notifications'
import { PageHeader } from '@/components/page'
import { Alert } from '@/components/ui/alert'
import { Skeleton } from '@/components/ui/skeleton'
import AgentHistoryPage from '@/pages/AgentHistoryPage'
import AgentNewPage from '@/pages/AgentNewPage'
import AgentPage from '@/pages/AgentPage'
import AgentSettingsPage from '@/pages/AgentSettingsPage'
import AgentTestPage from '@/pages/AgentTestPage'
import AgentsPage from '@/pages/AgentsPage'
import NotFoundPage from '@/pages/NotFoundPage'
import SignInPage from '@/pages/SignInPage'

// Pages few people open first load on demand, keeping the first download small.
const UsersPage = React.lazy(() => import('@/pages/UsersPage'))
const AnalyticsPage = React.lazy(() => import('@/pages/AnalyticsPage'))
const RunbooksPage = React.lazy(() => import('@/pages/RunbooksPage'))
const RunbookPage = React.lazy(() => import('@/pages/RunbookPage'))
const CapacityPage = React.lazy(() => import('@/pages/CapacityPage'))
const ExperimentsPage = React.lazy(() => import('@/pages/ExperimentsPage'))

/** Signed-in pages: sends everyone else to the sign-in page, then back. */
function RequireSession() {
  const { user, loading } = useSession()
  const location = useLocation()
  if (loading) return <PageSkeleton />
  if (!user) return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />
  return <Outlet />
}

/** A page only some roles may see (the server refuses the others anyway). */
function RequirePermission({ permission, children }: { permission: Permission; children: React.ReactNode }) {
  const { reasonIfNot } = useSession()
  const reason = reasonIfNot(permission)
  if (reason)
    return (
      <>
        <PageHeader title="Not available" />
        <Alert tone="warning">{reason}</Alert>
      </>
    )
  return <>{children}</>
}

function PageSkeleton() {
  return (
    <div className="grid gap-4 p-8" role="status" aria-label="Loading">
      <Skeleton className="h-8 w-64" />
      <Skeleton className="h-40 w-full" />
    </div>
  )
}

function Lazy({ children }: { children: React.ReactNode }) {
  return <React.Suspense fallback={<PageSkeleton />}>{children}</React.Suspense>
}

export const routes = [
  { path: '/sign-in', element: <SignInPage /> },
  {
    element: <RequireSession />,
    children: [
      {
        element: <Layout />,
        children: [
          { index: true, element: <Navigate to="/agents" replace /> },
          { path: 'agents', element: <AgentsPage /> },
          { path: 'agents/new', element: <AgentNewPage /> },
          {
            path: 'agents/:agentId',
            element: <AgentPage />,
            children: [
              { index: true, element: <AgentSettingsPage /> },
              { path: 'test', element: <AgentTestPage /> },
              { path: 'history', element: <AgentHistoryPage /> },
            ],
          },
          {
            path: 'analytics',
            element: (
              <RequirePermission permission="analytics:read">
                <Lazy>
                  <AnalyticsPage />
                </Lazy>
              </RequirePermission>
            ),
          },
          {
            path: 'runbooks',
            element: (
              <Lazy>
                <RunbooksPage />
              </Lazy>
            ),
          },
          {
            path: 'runbooks/:slug',
            element: (
              <Lazy>
                <RunbookPage />
              </Lazy>
            ),
          },
          {
            path: 'capacity',
            element: (
              <Lazy>
                <CapacityPage />
              </Lazy>
            ),
          },
          {
            path: 'experiments',
            element: (
              <Lazy>
                <ExperimentsPage />
              </Lazy>
            ),
          },
          {
            path: 'users',
            element: (
              <RequirePermission permission="users:manage">
                <Lazy>
                  <UsersPage />
                </Lazy>
              </RequirePermission>
            ),
          },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
]

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        // Retry only what may pass a moment later: the server busy or unreachable.
        retry: (count, error) => error instanceof ApiError && (error.status === 0 || error.status >= 502) && count < 2,
      },
    },
  })
}

export function Providers({ client, children }: { client: QueryClient; children: React.ReactNode }) {
  return (
    <QueryClientProvider client={client}>
      <SessionProvider>
        <NotificationsProvider>{children}</NotificationsProvider>
      </SessionProvider>
    </QueryClientProvider>
  )
}

export default function App() {
  const [router] = React.useState(() => createBrowserRouter(routes))
  const [queryClient] = React.useState(makeQueryClient)
  return (
    <Providers client={queryClient}>
      <RouterProvider router={router} />
    </Providers>
  )
}
