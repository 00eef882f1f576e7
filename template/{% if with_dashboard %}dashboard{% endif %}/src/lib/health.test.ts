import { describe, expect, it } from 'vitest'
import type { Schemas } from '@/api/client'
import { describeHealth } from './health'

const quiet: Schemas['BreakerRead'] = {
  state: 'closed',
  calls: 0,
  failures: 0,
  failure_rate: 0,
  retry_after_s: 0,
  recent_calls: 0,
  recent_failures: 0,
  last_failed: false,
  last_error_type: null,
}

describe('agent health in plain words', () => {
  it('says how long an agent is paused and why', () => {
    const words = describeHealth({ ...quiet, state: 'open', calls: 10, failures: 6, failure_rate: 0.6, retry_after_s: 25 })
    expect(words.detail).toMatch(/^Paused for 25 s after 6 failed calls\./)
    expect(words.tone).toBe('danger')
    expect(words.runbook).toBe('agent-paused')
  })

  it('calls a quiet, healthy agent normal, with the right plurals', () => {
    expect(describeHealth(quiet)).toMatchObject({ label: 'Working normally', detail: 'No calls recently.' })
    expect(describeHealth({ ...quiet, calls: 1, recent_calls: 1 }).detail).toBe('The last call worked.')
    expect(describeHealth({ ...quiet, calls: 3, recent_calls: 3 }).detail).toBe('The last 3 calls worked.')
    expect(describeHealth({ ...quiet, calls: 12, failures: 1, failure_rate: 0.08, recent_calls: 12, recent_failures: 1 }).detail).toBe(
      'Working, but 1 failed call out of the last 12.',
    )
  })

  it('never says "working normally" after failed tests that the breaker does not count', () => {
    // Two tests with an app key HiAgent refused: the breaker saw two calls and no failure.
    const words = describeHealth({ ...quiet, calls: 2, recent_calls: 2, recent_failures: 2, last_failed: true, last_error_type: 'auth' })
    expect(words.label).toBe('Calls fail')
    expect(words.tone).toBe('danger')
    expect(words.detail).toBe('All of the last 2 calls failed. HiAgent did not accept the app key.')
    expect(words.runbook).toBe('app-key-rejected')
    expect(describeHealth({ ...quiet, calls: 1, recent_calls: 1, recent_failures: 1, last_failed: true, last_error_type: 'timeout' }).detail).toBe(
      'The last call failed. The answer took longer than the time allowed.',
    )
  })

  it('warns when the newest call failed after earlier ones worked', () => {
    const words = describeHealth({ ...quiet, calls: 5, recent_calls: 5, recent_failures: 1, last_failed: true, last_error_type: 'agent_failed' })
    expect(words).toMatchObject({ tone: 'warning', label: 'The last call failed', runbook: 'high-error-rate' })
    expect(words.detail).toBe('1 of the last 5 calls failed. The agent on HiAgent could not finish its answer.')
  })
})
