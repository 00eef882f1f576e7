/** An agent's circuit breaker, said in plain words. */
import type { Schemas } from '@/api/client'

export interface HealthWords {
  tone: 'success' | 'warning' | 'danger'
  label: string
  detail: string
  runbook?: string
}

export function describeHealth(breaker: Schemas['BreakerRead']): HealthWords {
  const failed = `${breaker.failures} failed call${breaker.failures === 1 ? '' : 's'}`
  if (breaker.state === 'open')
    return {
      tone: 'danger',
      label: 'Paused',
      detail: `Paused for ${breaker.retry_after_s} s after ${failed}. Calls get a "try again later" answer meanwhile.`,
      runbook: 'agent-paused',
    }
  if (breaker.state === 'half_open')
    return {
      tone: 'warning',
      label: 'Recovering',
      detail: 'Trying one call to see whether it works again.',
      runbook: 'agent-paused',
    }
  if (breaker.failures > 0)
    return {
      tone: 'warning',
      label: 'Some calls fail',
      detail: `Working, but ${failed} out of the last ${breaker.calls}.`,
      runbook: 'high-error-rate',
    }
  return {
    tone: 'success',
    label: 'Working normally',
    detail: breaker.calls ? `The last ${breaker.calls} calls worked.` : 'No calls recently.',
  }
}
