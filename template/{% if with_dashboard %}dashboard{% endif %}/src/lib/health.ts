/** How an agent is doing, said in plain words: its circuit breaker (is HiAgent healthy for it?)
 * and how its last calls ended, whatever made them fail (a refused app key, a failed agent). */
import type { Schemas } from '@/api/client'
import { errorKind } from '@/lib/errors'

export interface HealthWords {
  tone: 'success' | 'warning' | 'danger'
  label: string
  detail: string
  runbook?: string
}

/** "1 call", "2 calls". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}

export function describeHealth(breaker: Schemas['BreakerRead']): HealthWords {
  if (breaker.state === 'open')
    return {
      tone: 'danger',
      label: 'Paused',
      detail: `Paused for ${breaker.retry_after_s} s after ${plural(breaker.failures, 'failed call')}. Calls get a "try again later" answer meanwhile.`,
      runbook: 'agent-paused',
    }
  if (breaker.state === 'half_open')
    return {
      tone: 'warning',
      label: 'Recovering',
      detail: 'Trying one call to see whether it works again.',
      runbook: 'agent-paused',
    }
  const calls = breaker.recent_calls ?? 0
  const failed = breaker.recent_failures ?? 0
  const kind = errorKind(breaker.last_error_type)
  const why = kind ? ` ${kind.words}` : ''
  if (calls > 0 && failed === calls)
    return {
      tone: 'danger',
      label: 'Calls fail',
      detail: calls === 1 ? `The last call failed.${why}` : `All of the last ${plural(calls, 'call')} failed.${why}`,
      runbook: kind?.runbook ?? 'high-error-rate',
    }
  if (breaker.last_failed)
    return {
      tone: 'warning',
      label: 'The last call failed',
      detail: `${failed} of the last ${plural(calls, 'call')} failed.${why}`,
      runbook: kind?.runbook ?? 'high-error-rate',
    }
  if (failed > 0 || breaker.failures > 0) {
    const total = Math.max(calls, breaker.calls)
    const failures = Math.max(failed, breaker.failures)
    return {
      tone: 'warning',
      label: 'Some calls fail',
      detail: `Working, but ${plural(failures, 'failed call')} out of the last ${total}.${why}`,
      runbook: kind?.runbook ?? 'high-error-rate',
    }
  }
  if (calls === 0) return { tone: 'success', label: 'Working normally', detail: 'No calls recently.' }
  return {
    tone: 'success',
    label: 'Working normally',
    detail: calls === 1 ? 'The last call worked.' : `The last ${plural(calls, 'call')} worked.`,
  }
}
