import { describe, expect, it } from 'vitest'
import { describeHealth } from './health'

describe('agent health in plain words', () => {
  it('says how long an agent is paused and why', () => {
    const words = describeHealth({ state: 'open', calls: 10, failures: 6, failure_rate: 0.6, retry_after_s: 25 })
    expect(words.detail).toMatch(/^Paused for 25 s after 6 failed calls\./)
    expect(words.tone).toBe('danger')
    expect(words.runbook).toBe('agent-paused')
  })

  it('calls a quiet, healthy agent normal', () => {
    expect(describeHealth({ state: 'closed', calls: 0, failures: 0, failure_rate: 0, retry_after_s: 0 }).label).toBe('Working normally')
    expect(describeHealth({ state: 'closed', calls: 12, failures: 1, failure_rate: 0.08, retry_after_s: 0 }).detail).toBe(
      'Working, but 1 failed call out of the last 12.',
    )
  })
})
