/** Numbers, durations and times written the way people read them. */

const numberFormat = new Intl.NumberFormat('en')
const compactFormat = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 })
const dateTimeFormat = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' })

export function formatNumber(value: number): string {
  return numberFormat.format(value)
}

export function formatCompact(value: number): string {
  return compactFormat.format(value)
}

/** Units arrive plural ("calls"); one of anything is singular: "1 call", "2 calls", "3 MB". */
const SINGULAR: Record<string, string> = {
  calls: 'call',
  copies: 'copy',
  connections: 'connection',
  tokens: 'token',
  processes: 'process',
  instances: 'instance',
  days: 'day',
}

export function formatAmount(value: number, unit: string): string {
  return `${numberFormat.format(value)} ${value === 1 ? (SINGULAR[unit] ?? unit) : unit}`
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}

export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.1 ? 1 : 0)}%`
}

export function formatDateTime(iso: string | Date | null | undefined): string {
  if (!iso) return 'never'
  return dateTimeFormat.format(typeof iso === 'string' ? new Date(iso) : iso)
}

/** "just now", "5 minutes ago", "3 days ago". */
export function formatRelative(iso: string | Date | null | undefined, now: number = Date.now()): string {
  if (!iso) return 'never'
  const then = typeof iso === 'string' ? new Date(iso).getTime() : iso.getTime()
  const seconds = Math.round((now - then) / 1000)
  if (seconds < 45) return 'just now'
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'} ago`
  const hours = Math.round(minutes / 60)
  if (hours < 24) return `${hours} hour${hours === 1 ? '' : 's'} ago`
  const days = Math.round(hours / 24)
  if (days < 30) return `${days} day${days === 1 ? '' : 's'} ago`
  return formatDateTime(new Date(then))
}
