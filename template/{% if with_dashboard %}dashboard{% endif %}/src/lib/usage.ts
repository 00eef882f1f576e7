/** Words and ranges for the usage pages. */
import type { Schemas } from '@/api/client'

export type CallStatus = Schemas['CallStatus']

export const CALL_STATUSES: { value: CallStatus; label: string; tone: 'success' | 'danger' | 'warning' | 'neutral' }[] = [
  { value: 'success', label: 'Worked', tone: 'success' },
  { value: 'error', label: 'Failed', tone: 'danger' },
  { value: 'timeout', label: 'Took too long', tone: 'warning' },
  { value: 'rejected', label: 'Turned away', tone: 'warning' },
  { value: 'cancelled', label: 'Stopped by the caller', tone: 'neutral' },
]

/** Why a call was turned away, by its `error_type`: said precisely, never "busy or paused". */
const TURNED_AWAY: Record<string, string> = {
  disabled: 'Turned away (agent turned off)',
  circuit_open: 'Turned away (paused after failures)',
  busy: 'Turned away (too many calls at once)',
  not_configured: 'Turned away (HiAgent not set up)',
  wrong_type: 'Turned away (called the wrong way)',
}

export function statusWords(status: string, errorType?: string | null) {
  const found = CALL_STATUSES.find((s) => s.value === status) ?? { value: status, label: status, tone: 'neutral' as const }
  if (status === 'rejected' && errorType && TURNED_AWAY[errorType]) return { ...found, label: TURNED_AWAY[errorType] }
  return found
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

/** How a call reached the agent, from the request log's `endpoint` (the path it came through,
 * or the name business code gave). People read these words, never the path. */
const CHANNELS: [RegExp, string][] = [
  [/\/agents\/[^/]+\/invoke$/, 'From an app, whole answer'],
  [/\/agents\/[^/]+\/stream$/, 'From an app, answer as it is written'],
  [/\/agents\/[^/]+\/tasks$/, 'From an app, in the background'],
  [/\/workflows\/[^/]+\/run$/, 'From an app, workflow run'],
  [/\/workflows\/[^/]+\/runs\/[^/]+$/, 'From an app, workflow progress'],
  [/\/workflows\/[^/]+\/tasks$/, 'From an app, workflow in the background'],
  [/\/retrievers\/[^/]+\/query$/, 'From an app, knowledge search'],
  [/\/tools\/[^/]+\/exec$/, 'From an app, tool run'],
  [/\/agent-configs\/[^/]+\/test-runs$/, 'From the dashboard test'],
  [/^gateway$/, 'From the service itself'],
]

export function channelWords(endpoint: string): string {
  for (const [pattern, words] of CHANNELS) if (pattern.test(endpoint)) return words
  if (endpoint.startsWith('/api/')) {
    // A product's own feature (e.g. /api/v1/tickets/triage): its name, without the path.
    const feature = endpoint.split('/').filter((part) => part && !part.startsWith('{') && part !== 'api' && !/^v\d+$/.test(part))
    return feature.length ? `From the ${feature.join(' ').replace(/[-_]/g, ' ')} feature` : 'From an app'
  }
  return endpoint.replace(/[-_]/g, ' ')
}

/** Above this share of failed calls a figure turns red and points at the runbook. */
export const HIGH_ERROR_RATE = 0.05
/** Data older than this (behind the clock) gets a warning. */
export const STALE_AFTER_MS = 2 * 60_000
