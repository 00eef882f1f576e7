import { describe, expect, it } from 'vitest'
import { channelWords, statusWords } from './usage'

describe('calls in plain words', () => {
  it('says precisely why a call was turned away', () => {
    expect(statusWords('rejected', 'disabled').label).toBe('Turned away (agent turned off)')
    expect(statusWords('rejected', 'circuit_open').label).toBe('Turned away (paused after failures)')
    expect(statusWords('rejected', 'busy').label).toBe('Turned away (too many calls at once)')
    expect(statusWords('rejected').label).toBe('Turned away')
    expect(statusWords('error', 'upstream_error').label).toBe('Failed')
  })

  it.each([
    ['/api/v1/agents/{name_or_id}/invoke', 'From an app, whole answer'],
    ['/api/v1/agents/{name_or_id}/stream', 'From an app, answer as it is written'],
    ['/api/v1/agents/{name_or_id}/tasks', 'From an app, in the background'],
    ['/api/v1/workflows/{name}/run', 'From an app, workflow run'],
    ['/api/v1/agent-configs/{config_id}/test-runs', 'From the dashboard test'],
    ['/api/v1/tickets/triage', 'From the tickets triage feature'],
    ['gateway', 'From the service itself'],
  ])('%s → %s', (endpoint, words) => {
    expect(channelWords(endpoint)).toBe(words)
    expect(channelWords(endpoint)).not.toMatch(/[{}/]/)
  })
})
