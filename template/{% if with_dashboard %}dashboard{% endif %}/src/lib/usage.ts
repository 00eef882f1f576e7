/** Words and ranges for the usage pages. */
import type { Schemas } from '@/api/client'

export type CallStatus = Schemas['CallStatus']

export const CALL_STATUSES: { value: CallStatus; label: string; tone: 'success' | 'danger' | 'warning' | 'neutral' }[] = [
  { value: 'success', label: 'Worked', tone: 'success' },
  { value: 'error', label: 'Failed', tone: 'danger' },
  { value: 'timeout', label: 'Took too long', tone: 'warning' },
  { value: 'rejected', label: 'Turned away (busy or paused)', tone: 'warning' },
  { value: 'cancelled', label: 'Stopped by the caller', tone: 'neutral' },
]

export function statusWords(status: string) {
  return CALL_STATUSES.find((s) => s.value === status) ?? { value: status, label: status, tone: 'neutral' as const }
}

export const RANGES = [
  { value: '1h', label: 'Last hour', minutes: 60 },
  { value: '24h', label: 'Last 24 hours', minutes: 24 * 60 },
  { value: '7d', label: 'Last 7 days', minutes: 7 * 24 * 60 },
  { value: '30d', label: 'Last 30 days', minutes: 30 * 24 * 60 },
] as const

export type RangeValue = (typeof RANGES)[number]['value']

export function rangeStart(range: string, now: number = Date.now()): string {
  const minutes = RANGES.find((r) => r.value === range)?.minutes ?? 24 * 60
  return new Date(now - minutes * 60_000).toISOString()
}

/** How a call reached the agent, from the request log's `endpoint`. */
const CHANNELS: Record<string, string> = {
  invoke: 'App, whole answer',
  stream: 'App, answer as it is written',
  test_run: 'Test in the dashboard',
  task: 'App, in the background',
  workflow_run: 'App, workflow run',
  workflow_status: 'App, workflow progress',
  retriever_query: 'App, knowledge search',
  tool_exec: 'App, tool run',
}

export function channelWords(endpoint: string): string {
  return CHANNELS[endpoint] ?? endpoint.replace(/_/g, ' ')
}

/** Above this share of failed calls a figure turns red and points at the runbook. */
export const HIGH_ERROR_RATE = 0.05
/** Data older than this (behind the clock) gets a warning. */
export const STALE_AFTER_MS = 2 * 60_000
