import { useQuery } from '@tanstack/react-query'
import { ArrowLeft } from 'lucide-react'
import { Link, NavLink, Outlet, useParams } from 'react-router'
import { HealthNote } from '@/components/health'
import { api, call, type Schemas } from '@/api/client'
import { PageHeader } from '@/components/page'
import { Problem } from '@/components/problem'
import { Badge } from '@/components/ui/badge'
import { Skeleton } from '@/components/ui/skeleton'
import { cn } from '@/lib/cn'
import { typeLabel } from '@/lib/words'

export type AgentContext = { agent: Schemas['AgentConfigRead'] }

export function useAgentId(): number {
  return Number(useParams().agentId)
}

export function agentQuery(id: number) {
  return {
    queryKey: ['agent-configs', id],
    queryFn: () => call(api.GET('/api/v1/agent-configs/{config_id}', { params: { path: { config_id: id } } })),
  }
}

const TABS = [
  { to: '', label: 'Settings', end: true },
  { to: 'test', label: 'Test', end: false },
  { to: 'history', label: 'History', end: false },
]

/** One agent: its name and status, with tabs for settings, testing and history. */
export default function AgentPage() {
  const id = useAgentId()
  const query = useQuery(agentQuery(id))

  return (
    <>
      <Link to="/agents" className="mb-3 inline-flex items-center gap-1 text-sm text-primary hover:underline">
        <ArrowLeft className="size-4" aria-hidden="true" />
        All agents
      </Link>
      {query.isPending && <Skeleton className="h-24 w-full" />}
      {query.isError && <Problem error={query.error} title="Could not load this agent" />}
      {query.data && (
        <>
          <PageHeader
            title={query.data.name}
            description={
              <span className="flex flex-wrap items-center gap-2">
                {typeLabel(query.data.config_type)}
                {query.data.enabled ? <Badge tone="success">Available</Badge> : <Badge>Turned off</Badge>}
                <span>Version {query.data.version}</span>
              </span>
            }
          />
          <HealthNote agentId={query.data.id} />
          <nav aria-label="Agent sections" className="mb-6 border-b border-border">
            <ul className="-mb-px flex gap-1">
              {TABS.map((tab) => (
                <li key={tab.label}>
                  <NavLink
                    to={tab.to}
                    end={tab.end}
                    className={({ isActive }) =>
                      cn(
                        'inline-block border-b-2 px-4 py-2 text-sm font-medium focus-visible:outline-2 focus-visible:outline-ring',
                        isActive ? 'border-primary text-primary' : 'border-transparent text-muted-foreground hover:text-foreground',
                      )
                    }
                  >
                    {tab.label}
                  </NavLink>
                </li>
              ))}
            </ul>
          </nav>
          <Outlet context={{ agent: query.data } satisfies AgentContext} />
        </>
      )}
    </>
  )
}
