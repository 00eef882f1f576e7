import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query'
import { Radio } from 'lucide-react'
import * as React from 'react'
import { Link, useSearchParams } from 'react-router'
import { api, call, type Schemas } from '@/api/client'
import { type LiveSnapshot, useLiveUsage } from '@/api/live'
import { CallsChart, LatencyChart } from '@/components/charts'
import { FilterSelect } from '@/components/filter-select'
import { EmptyState, PageHeader } from '@/components/page'
import { Problem } from '@/components/problem'
import { Alert } from '@/components/ui/alert'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from '@/components/ui/dialog'
import { Skeleton } from '@/components/ui/skeleton'
import { Table, TableBody, TableCaption, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { cn } from '@/lib/cn'
import { formatCompact, formatDateTime, formatDuration, formatNumber, formatPercent, formatRelative } from '@/lib/format'
import {
  CALL_STATUSES,
  type CallStatus,
  channelWords,
  HIGH_ERROR_RATE,
  RANGES,
  rangeStart,
  STALE_AFTER_MS,
  statusWords,
} from '@/lib/usage'
import { errorKind } from '@/lib/errors'

type Summary = Schemas['UsageSummary']
type LogItem = Schemas['RequestLogItem']

/** Usage: totals, trends, each agent, and every call; kept current while the page is open. */
export default function AnalyticsPage() {
  const [params, setParams] = useSearchParams()
  const agent = params.get('agent') ?? undefined
  const status = (params.get('status') ?? undefined) as CallStatus | undefined
  const range = params.get('range') ?? '24h'
  const [start, setStart] = React.useState(() => rangeStart(range))
  const [selected, setSelected] = React.useState<LogItem | null>(null)

  const update = (changes: Record<string, string | null>) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current)
        for (const [key, value] of Object.entries(changes)) {
          if (!value || value === 'all' || (key === 'range' && value === '24h')) next.delete(key)
          else next.set(key, value)
        }
        return next
      },
      { replace: true },
    )

  React.useEffect(() => setStart(rangeStart(range)), [range, agent, status])

  // A new call refreshes the figures (and moves the window forward), at most once a second.
  const seen = React.useRef<number | null>(null)
  const refresh = React.useRef<number | undefined>(undefined)
  React.useEffect(() => {
    seen.current = null
    return () => {
      window.clearTimeout(refresh.current)
      refresh.current = undefined
    }
  }, [agent, range])
  const onLive = React.useCallback(
    (snapshot: LiveSnapshot) => {
      const changed = seen.current !== null && snapshot.requests !== seen.current
      seen.current = snapshot.requests
      if (changed && refresh.current === undefined) {
        refresh.current = window.setTimeout(() => {
          refresh.current = undefined
          setStart(rangeStart(range))
        }, 1000)
      }
    },
    [range],
  )
  const live = useLiveUsage(agent, onLive)

  const filters = { agent, status, start }
  const summary = useQuery({
    queryKey: ['analytics', 'summary', filters],
    queryFn: () => call(api.GET('/api/v1/analytics/summary', { params: { query: filters } })),
    placeholderData: keepPreviousData,
  })
  const series = useQuery({
    queryKey: ['analytics', 'series', filters],
    queryFn: () => call(api.GET('/api/v1/analytics/timeseries', { params: { query: filters } })),
    placeholderData: keepPreviousData,
  })
  const agents = useQuery({
    queryKey: ['agent-configs', 'names'],
    queryFn: () => call(api.GET('/api/v1/agent-configs', { params: { query: { limit: 200 } } })),
    staleTime: 60_000,
  })

  const empty = summary.data && summary.data.requests === 0

  return (
    <>
      <PageHeader
        title="Usage"
        description="How your agents are used: calls, tokens, speed and failures."
        actions={<Freshness asOf={summary.data?.data_as_of} live={live.state} />}
      />

      <div className="mb-4 grid gap-3 md:grid-cols-3">
        <FilterSelect
          id="usage-agent"
          label="Agent"
          value={agent ?? 'all'}
          onChange={(value) => update({ agent: value })}
          options={[
            { value: 'all', label: 'All agents' },
            ...(agents.data?.items ?? []).map((a) => ({ value: a.name, label: a.name })),
            ...(agent && !agents.data?.items.some((a) => a.name === agent) ? [{ value: agent, label: agent }] : []),
          ]}
        />
        <FilterSelect id="usage-range" label="Time range" value={range} onChange={(value) => update({ range: value })} options={[...RANGES]} />
        <FilterSelect
          id="usage-status"
          label="Outcome"
          value={status ?? 'all'}
          onChange={(value) => update({ status: value })}
          options={[{ value: 'all', label: 'Any outcome' }, ...CALL_STATUSES]}
        />
      </div>

      <StaleWarning asOf={summary.data?.data_as_of} />
      <LiveStrip snapshot={live.snapshot} agent={agent} />
      {summary.isError && <Problem error={summary.error} title="Could not load usage" />}
      {summary.isPending && <Skeleton className="h-28 w-full" />}
      {empty && (
        <EmptyState
          title="No calls in this period"
          action={
            <div className="flex flex-wrap justify-center gap-2">
              {range !== '30d' && (
                <Button variant="outline" onClick={() => update({ range: '30d' })}>
                  Show the last 30 days
                </Button>
              )}
              <Button asChild>
                <Link to="/agents">Test an agent</Link>
              </Button>
            </div>
          }
        >
          {agent || status
            ? 'Nothing matches these filters. Choose a longer time range or another agent or outcome.'
            : 'Calls appear here a few seconds after apps (or your tests) use an agent. Try a longer time range, or test an agent to see it here.'}
        </EmptyState>
      )}
      {summary.data && !empty && (
        <div className="grid gap-6">
          <Totals summary={summary.data} />
          {series.data && (
            <div className="grid gap-6 xl:grid-cols-2">
              <Card>
                <CardHeader>
                  <CardTitle>Calls</CardTitle>
                  <CardDescription>Per {series.data.interval}, failed calls in red.</CardDescription>
                </CardHeader>
                <CardContent>
                  <CallsChart series={series.data.series} grain={series.data.interval} />
                </CardContent>
              </Card>
              <Card>
                <CardHeader>
                  <CardTitle>Response time</CardTitle>
                  <CardDescription>How long callers waited for the whole answer.</CardDescription>
                </CardHeader>
                <CardContent>
                  <LatencyChart series={series.data.series} grain={series.data.interval} />
                </CardContent>
              </Card>
            </div>
          )}
          {!agent && <ByAgent summary={summary.data} onPick={(name) => update({ agent: name })} />}
          <RequestLog filters={filters} onOpen={setSelected} />
        </div>
      )}
      <CallDetails item={selected} onClose={() => setSelected(null)} />
    </>
  )
}

function Freshness({ asOf, live }: { asOf?: string; live: string }) {
  const [, tick] = React.useState(0)
  React.useEffect(() => {
    const timer = window.setInterval(() => tick((n) => n + 1), 5000)
    return () => window.clearInterval(timer)
  }, [])
  return (
    <div className="flex flex-col items-end gap-1 text-sm">
      <span className={cn('inline-flex items-center gap-1.5 font-medium', live === 'live' ? 'text-green-800' : 'text-amber-900')}>
        <Radio className="size-4" aria-hidden="true" />
        {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
      </span>
      {asOf && (
        <span className="text-muted-foreground">
          Figures up to <time dateTime={asOf}>{formatDateTime(asOf)}</time>
        </span>
      )}
    </div>
  )
}

function StaleWarning({ asOf }: { asOf?: string }) {
  if (!asOf) return null
  const behind = Date.now() - new Date(asOf).getTime()
  if (behind < STALE_AFTER_MS) return null
  return (
    <Alert tone="warning" className="mb-4" title="Figures are behind">
      The newest counted call is from {formatRelative(asOf)}. Calls made since then are still being counted and appear
      shortly. If this lasts, see <Link to="/runbooks/database-unavailable">what to do</Link>.
    </Alert>
  )
}

function LiveStrip({ snapshot, agent }: { snapshot: LiveSnapshot | null; agent?: string }) {
  if (!snapshot) return null
  return (
    <section aria-labelledby="live-heading" className="mb-6 rounded-lg border border-border bg-background p-4">
      <h2 id="live-heading" className="mb-2 text-sm font-semibold text-muted-foreground">
        Last {snapshot.window_minutes} minutes{agent ? `, ${agent}` : ''} · updates by itself
      </h2>
      <dl className="grid grid-cols-2 gap-4 md:grid-cols-4">
        <Figure label="Calls" value={formatNumber(snapshot.requests)} testId="live-calls" />
        <Figure label="Failed" value={formatPercent(snapshot.error_rate)} danger={snapshot.requests > 0 && snapshot.error_rate > HIGH_ERROR_RATE} />
        <Figure label="Typical wait" value={formatDuration(snapshot.p50)} />
        <Figure label="Tokens" value={formatCompact(snapshot.tokens_in + snapshot.tokens_out)} />
      </dl>
    </section>
  )
}

function Figure({ label, value, danger, testId }: { label: string; value: string; danger?: boolean; testId?: string }) {
  return (
    <div>
      <dt className="text-sm text-muted-foreground">{label}</dt>
      <dd data-testid={testId} className={cn('text-2xl font-semibold', danger && 'text-destructive')}>
        {value}
      </dd>
    </div>
  )
}

function Totals({ summary }: { summary: Summary }) {
  const failing = summary.error_rate > HIGH_ERROR_RATE
  return (
    <section aria-labelledby="totals-heading">
      <h2 id="totals-heading" className="sr-only">
        Totals for the period
      </h2>
      <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-4">
        <Card>
          <CardContent className="pt-5">
            <p className="text-sm text-muted-foreground">Calls</p>
            <p className="text-3xl font-semibold" data-testid="total-calls">
              {formatNumber(summary.requests)}
            </p>
          </CardContent>
        </Card>
        <Card className={cn(failing && 'border-red-400 bg-danger-background')}>
          <CardContent className="pt-5">
            <p className="text-sm text-muted-foreground">Failed</p>
            <p className={cn('text-3xl font-semibold', failing && 'text-red-900')}>{formatPercent(summary.error_rate)}</p>
            <p className="text-sm">
              {formatNumber(summary.errors)} of {formatNumber(summary.requests)} calls
            </p>
            {failing && (
              <Link to="/runbooks/high-error-rate" className="text-sm font-medium text-red-900 underline">
                Too many failures: what to do
              </Link>
            )}
          </CardContent>
        </Card>
        <Card>
          <CardContent className="pt-5">
            <p className="text-sm text-muted-foreground">Response time</p>
            <p className="text-3xl font-semibold">{formatDuration(summary.p50)}</p>
            <p className="text-sm">
              typical · 1 in 20 over {formatDuration(summary.p95)} · 1 in 100 over {formatDuration(summary.p99)}
            </p>
          </CardContent>
        </Card>
        <Card>
          <CardContent className="pt-5">
            <p className="text-sm text-muted-foreground">Tokens</p>
            <p className="text-3xl font-semibold">{formatCompact(summary.tokens_in + summary.tokens_out)}</p>
            <p className="text-sm">
              {formatNumber(summary.tokens_in)} in · {formatNumber(summary.tokens_out)} out
            </p>
          </CardContent>
        </Card>
      </div>
    </section>
  )
}

function ByAgent({ summary, onPick }: { summary: Summary; onPick: (name: string) => void }) {
  if (summary.by_agent.length === 0) return null
  return (
    <Card>
      <CardHeader>
        <CardTitle>By agent</CardTitle>
        <CardDescription>Busiest first. Choose one to see only its calls.</CardDescription>
      </CardHeader>
      <CardContent>
        <Table>
          <TableCaption>Usage by agent</TableCaption>
          <TableHeader>
            <TableRow>
              <TableHead>Agent</TableHead>
              <TableHead className="text-right">Calls</TableHead>
              <TableHead className="text-right">Failed</TableHead>
              <TableHead className="text-right">Typical wait</TableHead>
              <TableHead className="hidden text-right lg:table-cell">Tokens</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {summary.by_agent.map((row) => {
              const failing = row.requests > 0 && row.error_rate > HIGH_ERROR_RATE
              return (
                <TableRow key={row.agent_config_id ?? 'none'}>
                  <TableCell>
                    {row.agent_name ? (
                      <Button variant="link" className="h-auto p-0" onClick={() => onPick(row.agent_name!)}>
                        {row.agent_name}
                      </Button>
                    ) : (
                      <span className="text-muted-foreground">{row.agent_config_id ? 'A deleted agent' : 'No agent'}</span>
                    )}
                  </TableCell>
                  <TableCell className="text-right">{formatNumber(row.requests)}</TableCell>
                  <TableCell className="text-right">
                    {failing ? (
                      <Link to="/runbooks/high-error-rate" className="font-medium text-red-900 underline">
                        {formatPercent(row.error_rate)}
                      </Link>
                    ) : (
                      formatPercent(row.error_rate)
                    )}
                  </TableCell>
                  <TableCell className="text-right">{formatDuration(row.p50)}</TableCell>
                  <TableCell className="hidden text-right lg:table-cell">{formatNumber(row.tokens_in + row.tokens_out)}</TableCell>
                </TableRow>
              )
            })}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  )
}

function RequestLog({
  filters,
  onOpen,
}: {
  filters: { agent?: string; status?: CallStatus; start: string }
  onOpen: (item: LogItem) => void
}) {
  const log = useInfiniteQuery({
    queryKey: ['analytics', 'requests', filters],
    queryFn: ({ pageParam }) =>
      call(api.GET('/api/v1/analytics/requests', { params: { query: { ...filters, cursor: pageParam, limit: 25 } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
  })
  const items = log.data?.pages.flatMap((page) => page.items) ?? []
  return (
    <Card>
      <CardHeader>
        <CardTitle>Calls</CardTitle>
        <CardDescription>Newest first. Open one to see what was asked and how it went.</CardDescription>
      </CardHeader>
      <CardContent>
        {log.isError && <Problem error={log.error} title="Could not load the calls" />}
        {items.length === 0 && log.isSuccess && <p className="text-sm text-muted-foreground">No calls match.</p>}
        {items.length > 0 && (
          <Table>
            <TableCaption>Calls, newest first</TableCaption>
            <TableHeader>
              <TableRow>
                <TableHead>When</TableHead>
                <TableHead>Agent</TableHead>
                <TableHead>Outcome</TableHead>
                <TableHead className="text-right">Took</TableHead>
                <TableHead className="hidden lg:table-cell">Who</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {items.map((item) => {
                const words = statusWords(item.status, item.error_type)
                return (
                  <TableRow key={item.id}>
                    <TableCell>
                      <Button variant="link" className="h-auto p-0" onClick={() => onOpen(item)}>
                        {formatDateTime(item.timestamp)}
                      </Button>
                    </TableCell>
                    <TableCell>{item.agent_name ?? '–'}</TableCell>
                    <TableCell>
                      <Badge tone={words.tone}>{words.label}</Badge>
                    </TableCell>
                    <TableCell className="text-right">{formatDuration(item.duration_ms)}</TableCell>
                    <TableCell className="hidden lg:table-cell">{item.user_id || '–'}</TableCell>
                  </TableRow>
                )
              })}
            </TableBody>
          </Table>
        )}
        {log.hasNextPage && (
          <div className="mt-4 flex justify-center">
            <Button variant="outline" onClick={() => void log.fetchNextPage()} disabled={log.isFetchingNextPage}>
              {log.isFetchingNextPage ? 'Loading…' : 'Show older calls'}
            </Button>
          </div>
        )}
      </CardContent>
    </Card>
  )
}

function CallDetails({ item, onClose }: { item: LogItem | null; onClose: () => void }) {
  const words = item ? statusWords(item.status, item.error_type) : null
  const kind = item && item.status !== 'success' && item.status !== 'cancelled' ? errorKind(item.error_type) : undefined
  return (
    <Dialog open={item !== null} onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="max-w-2xl">
        {item && words && (
          <>
            <DialogHeader>
              <DialogTitle>Call to {item.agent_name ?? 'an agent'}</DialogTitle>
              <DialogDescription>{formatDateTime(item.timestamp)}</DialogDescription>
            </DialogHeader>
            <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
              <dt className="font-medium">Outcome</dt>
              <dd>
                <Badge tone={words.tone}>{words.label}</Badge>
                {kind && <p className="mt-1">{kind.words}</p>}
              </dd>
              <dt className="font-medium">Asked</dt>
              <dd className="whitespace-pre-wrap break-words">
                {item.text_redacted ? <span className="text-muted-foreground">Hidden: your role does not show what people asked.</span> : item.query || '–'}
              </dd>
              <dt className="font-medium">Took</dt>
              <dd>{formatDuration(item.duration_ms)}</dd>
              <dt className="font-medium">Tokens</dt>
              <dd>
                {formatNumber(item.tokens_in)} in, {formatNumber(item.tokens_out)} out
              </dd>
              <dt className="font-medium">How it came</dt>
              <dd>{channelWords(item.endpoint)}</dd>
              <dt className="font-medium">Who</dt>
              <dd>{item.user_id || '–'}</dd>
              <dt className="font-medium">Reference</dt>
              <dd className="break-all font-mono text-xs">{item.correlation_id}</dd>
            </dl>
            {kind?.runbook && (
              <p className="text-sm">
                <Link to={`/runbooks/${kind.runbook}`} className="text-primary underline">
                  What to do about this
                </Link>
              </p>
            )}
          </>
        )}
      </DialogContent>
    </Dialog>
  )
}
