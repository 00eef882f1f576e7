/** Usage charts (Recharts). Only the usage page imports this, so it loads on demand. */
import { Area, AreaChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import type { Schemas } from '@/api/client'
import { formatDuration, formatNumber } from '@/lib/format'

type Point = Schemas['SeriesPoint']
type Grain = Schemas['Grain']

const COLOURS = {
  calls: 'var(--color-chart-1)',
  errors: 'var(--color-chart-4)',
  p50: 'var(--color-chart-3)',
  p95: 'var(--color-chart-2)',
  p99: 'var(--color-chart-4)',
}

function tickFormatter(grain: Grain) {
  const format =
    grain === 'day'
      ? new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric' })
      : grain === 'hour'
        ? new Intl.DateTimeFormat('en', { weekday: 'short', hour: '2-digit', minute: '2-digit' })
        : new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit' })
  return (value: string) => format.format(new Date(value))
}

/** A chart with a spoken summary; the numbers are also in the tables on the page. */
function ChartFrame({ label, summary, children }: { label: string; summary: string; children: React.ReactElement }) {
  return (
    <figure role="img" aria-label={`${label}. ${summary}`} className="h-64 w-full">
      <ResponsiveContainer width="100%" height="100%">
        {children}
      </ResponsiveContainer>
    </figure>
  )
}

const GRAIN_WORDS: Record<string, string> = { minute: 'minute', hour: 'hour', day: 'day' }

export function CallsChart({ series, grain }: { series: Point[]; grain: Grain }) {
  const total = series.reduce((sum, p) => sum + p.requests, 0)
  const errors = series.reduce((sum, p) => sum + p.errors, 0)
  const busiest = series.reduce((best, p) => (p.requests > (best?.requests ?? -1) ? p : best), series[0])
  const ticks = tickFormatter(grain)
  if (series.length < 2) {
    // An area needs two points to show: say the one figure instead.
    const only = series[0]
    return (
      <div className="flex h-64 w-full items-center justify-center rounded-md border border-dashed border-border p-6 text-center">
        <p data-testid="calls-sentence">
          {only
            ? `Only one ${GRAIN_WORDS[grain] ?? 'period'} so far (${ticks(only.bucket)}): ${formatNumber(only.requests)} call${only.requests === 1 ? '' : 's'}, ${formatNumber(only.errors)} failed. The chart appears once there are two or more.`
            : 'No calls to draw in this period yet.'}
        </p>
      </div>
    )
  }
  return (
    <ChartFrame
      label="Calls over time"
      summary={`${formatNumber(total)} calls, ${formatNumber(errors)} failed${busiest && busiest.requests ? `; busiest ${ticks(busiest.bucket)} with ${busiest.requests}` : ''}.`}
    >
      <AreaChart data={series} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
        <XAxis dataKey="bucket" tickFormatter={ticks} minTickGap={32} tick={{ fill: '#475569', fontSize: 12 }} />
        <YAxis allowDecimals={false} width={40} tick={{ fill: '#475569', fontSize: 12 }} />
        <Tooltip labelFormatter={(value) => ticks(String(value))} />
        <Legend />
        <Area type="monotone" dataKey="requests" name="Calls" stroke={COLOURS.calls} fill={COLOURS.calls} fillOpacity={0.15} isAnimationActive={false} />
        <Area type="monotone" dataKey="errors" name="Failed" stroke={COLOURS.errors} fill={COLOURS.errors} fillOpacity={0.2} isAnimationActive={false} />
      </AreaChart>
    </ChartFrame>
  )
}

export function LatencyChart({ series, grain }: { series: Point[]; grain: Grain }) {
  const ticks = tickFormatter(grain)
  const worst = Math.max(0, ...series.map((p) => p.p95 ?? 0))
  const timed = series.filter((p) => p.p50 !== null && p.p50 !== undefined)
  if (timed.length < 2) {
    // A line needs two points: one point alone is a dot lost in an empty chart. Say it instead.
    const only = timed[0]
    return (
      <div className="flex h-64 w-full items-center justify-center rounded-md border border-dashed border-border p-6 text-center">
        {only ? (
          <p data-testid="latency-sentence">
            Only one {GRAIN_WORDS[grain] ?? 'period'} has calls so far ({ticks(only.bucket)}): a typical call took{' '}
            <strong>{formatDuration(only.p50)}</strong>, and the slowest 1 in 20 took up to <strong>{formatDuration(only.p95)}</strong>. The
            chart appears once there are calls in two or more.
          </p>
        ) : (
          <p data-testid="latency-sentence">No answers to time in this period yet.</p>
        )}
      </div>
    )
  }
  return (
    <ChartFrame label="Response time over time" summary={`Slowest 1 in 20 calls took up to ${formatDuration(worst)}.`}>
      <LineChart data={series} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
        <XAxis dataKey="bucket" tickFormatter={ticks} minTickGap={32} tick={{ fill: '#475569', fontSize: 12 }} />
        <YAxis width={56} tickFormatter={(v: number) => formatDuration(v)} tick={{ fill: '#475569', fontSize: 12 }} />
        <Tooltip labelFormatter={(value) => ticks(String(value))} formatter={(value) => formatDuration(Number(value))} />
        <Legend />
        <Line type="monotone" dataKey="p50" name="Typical" stroke={COLOURS.p50} dot={{ r: 2 }} connectNulls isAnimationActive={false} />
        <Line type="monotone" dataKey="p95" name="Slowest 1 in 20" stroke={COLOURS.p95} dot={{ r: 2 }} connectNulls isAnimationActive={false} />
        <Line type="monotone" dataKey="p99" name="Slowest 1 in 100" stroke={COLOURS.p99} dot={{ r: 2 }} connectNulls isAnimationActive={false} />
      </LineChart>
    </ChartFrame>
  )
}
