import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { Plus, Search } from 'lucide-react'
import * as React from 'react'
import { Link, useNavigate, useSearchParams } from 'react-router'
import { api, call } from '@/api/client'
import type { operations } from '@/api/schema'
import { AgentsFileActions } from '@/components/agents-file'
import { FilterSelect } from '@/components/filter-select'
import { AgentStatusBadge, HiAgentDown, hiagentStatusQuery } from '@/components/health'
import { EmptyState, PageHeader } from '@/components/page'
import { Problem } from '@/components/problem'
import { Restricted } from '@/components/restricted'
import { Button } from '@/components/ui/button'
import { Input } from '@/components/ui/input'
import { Label } from '@/components/ui/label'
import { Skeleton } from '@/components/ui/skeleton'
import { Table, TableBody, TableCaption, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { formatRelative } from '@/lib/format'
import { CONFIG_TYPES, type ConfigType, typeLabel } from '@/lib/words'

const PAGE_SIZE = 25
type ConfigSort = NonNullable<NonNullable<operations['agent-configs-list_all']['parameters']['query']>['sort']>
const SORTS: { value: ConfigSort; label: string }[] = [
  { value: 'name', label: 'Name, A to Z' },
  { value: '-name', label: 'Name, Z to A' },
  { value: '-updated_at', label: 'Recently changed' },
  { value: '-created_at', label: 'Recently added' },
]

// A sort from the address bar is used only when the list offers it.
function sortOf(value: string | null): ConfigSort {
  return SORTS.find((option) => option.value === value)?.value ?? 'name'
}
const STATUSES = [
  { value: 'all', label: 'Any status' },
  { value: 'on', label: 'Available' },
  { value: 'off', label: 'Turned off' },
]

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = React.useState(value)
  React.useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), ms)
    return () => window.clearTimeout(timer)
  }, [value, ms])
  return debounced
}

export default function AgentsPage() {
  const [params, setParams] = useSearchParams()
  const navigate = useNavigate()
  const type = params.get('type') ?? 'all'
  const status = params.get('status') ?? 'all'
  const sort = sortOf(params.get('sort'))
  const page = Math.max(1, Number(params.get('page') ?? '1') || 1)
  const [searchText, setSearchText] = React.useState(params.get('q') ?? '')
  const search = useDebounced(searchText.trim(), 300)

  const update = React.useCallback(
    (changes: Record<string, string | null>) => {
      setParams(
        (current) => {
          const next = new URLSearchParams(current)
          for (const [key, value] of Object.entries(changes)) {
            if (value === null || value === '' || value === 'all') next.delete(key)
            else next.set(key, value)
          }
          if (!('page' in changes)) next.delete('page')
          return next
        },
        { replace: true },
      )
    },
    [setParams],
  )

  React.useEffect(() => {
    if ((params.get('q') ?? '') !== search) update({ q: search })
  }, [search, params, update])

  const query = useQuery({
    queryKey: ['agent-configs', { search, type, status, sort, page }],
    queryFn: () =>
      call(
        api.GET('/api/v1/agent-configs', {
          params: {
            query: {
              search: search || undefined,
              config_type: type === 'all' ? undefined : (type as ConfigType),
              enabled: status === 'all' ? undefined : status === 'on',
              sort,
              limit: PAGE_SIZE,
              offset: (page - 1) * PAGE_SIZE,
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  })

  const hiagent = useQuery(hiagentStatusQuery)
  const filtered = Boolean(search) || type !== 'all' || status !== 'all'
  const total = query.data?.total ?? 0
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE))

  return (
    <>
      <PageHeader
        title="Agents"
        description="The HiAgent agents, workflows, knowledge searches and tools your apps can use."
        actions={
          <>
            <AgentsFileActions />
            <Restricted permission="agents:configure">
              {(allowed) => (
                <Button onClick={() => navigate('/agents/new')} {...allowed}>
                  <Plus aria-hidden="true" />
                  Add agent
                </Button>
              )}
            </Restricted>
          </>
        }
      />

      <HiAgentDown status={hiagent.data} />
      <div className="mb-4 grid gap-3 sm:grid-cols-2 xl:grid-cols-[minmax(0,2fr)_repeat(3,minmax(0,1fr))]">
        <div className="grid gap-1.5">
          <Label htmlFor="agent-search">Search</Label>
          <div className="relative">
            <Search className="pointer-events-none absolute left-3 top-3 size-4 text-muted-foreground" aria-hidden="true" />
            <Input
              id="agent-search"
              type="search"
              className="pl-9"
              placeholder="Name or description"
              value={searchText}
              onChange={(event) => setSearchText(event.target.value)}
            />
          </div>
        </div>
        <FilterSelect
          id="agent-type"
          label="Type"
          value={type}
          onChange={(value) => update({ type: value })}
          options={[{ value: 'all', label: 'Any type' }, ...CONFIG_TYPES]}
        />
        <FilterSelect id="agent-status" label="Status" value={status} onChange={(value) => update({ status: value })} options={STATUSES} />
        <FilterSelect id="agent-sort" label="Sort by" value={sort} onChange={(value) => update({ sort: value === 'name' ? null : value })} options={SORTS} />
      </div>

      {query.isError && <Problem error={query.error} title="Could not load the agents" />}
      {query.isPending && <ListSkeleton />}
      {query.data && query.data.items.length === 0 && (
        filtered ? (
          <EmptyState
            title="No agents match"
            action={
              <Button
                variant="outline"
                onClick={() => {
                  setSearchText('')
                  update({ q: null, type: null, status: null })
                }}
              >
                Clear search and filters
              </Button>
            }
          >
            Try another word, or clear the filters to see every agent.
          </EmptyState>
        ) : (
          <EmptyState
            title="No agents yet"
            action={
              <Restricted permission="agents:configure">
                {(allowed) => (
                  <Button onClick={() => navigate('/agents/new')} {...allowed}>
                    <Plus aria-hidden="true" />
                    Add the first agent
                  </Button>
                )}
              </Restricted>
            }
          >
            Add an agent from the HiAgent platform so your apps can use it. You need its app key, which you find
            on the platform under the app's settings.
          </EmptyState>
        )
      )}
      {query.data && query.data.items.length > 0 && (
        <div className="rounded-lg border border-border bg-background">
          <Table>
            <TableCaption>Agents, {total} in all</TableCaption>
            <TableHeader>
              <TableRow>
                <TableHead>Name</TableHead>
                <TableHead>Type</TableHead>
                <TableHead>Status</TableHead>
                <TableHead className="hidden lg:table-cell">Last changed</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {query.data.items.map((agent) => (
                <TableRow key={agent.id}>
                  <TableCell>
                    <Link to={`/agents/${agent.id}`} className="font-medium text-primary hover:underline">
                      {agent.name}
                    </Link>
                    {agent.description && <p className="line-clamp-1 text-muted-foreground">{agent.description}</p>}
                  </TableCell>
                  <TableCell>{typeLabel(agent.config_type)}</TableCell>
                  <TableCell>
                    <AgentStatusBadge agent={agent} status={hiagent.data} />
                  </TableCell>
                  <TableCell className="hidden text-muted-foreground lg:table-cell">{formatRelative(agent.updated_at)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </div>
      )}
      {pages > 1 && (
        <nav aria-label="Pages" className="mt-4 flex items-center justify-end gap-3">
          <Button variant="outline" size="sm" disabled={page <= 1} onClick={() => update({ page: String(page - 1) })}>
            Previous
          </Button>
          <span className="text-sm">
            Page {page} of {pages}
          </span>
          <Button variant="outline" size="sm" disabled={page >= pages} onClick={() => update({ page: String(page + 1) })}>
            Next
          </Button>
        </nav>
      )}
    </>
  )
}

function ListSkeleton() {
  return (
    <div className="grid gap-2" role="status" aria-label="Loading agents">
      {[0, 1, 2].map((row) => (
        <Skeleton key={row} className="h-14 w-full" />
      ))}
    </div>
  )
}
