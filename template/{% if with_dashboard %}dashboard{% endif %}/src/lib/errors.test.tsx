import { render, screen } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/client'
import { Problem, runbookFor } from '@/components/problem'
import { ERROR_KINDS, RUNBOOK_FOR, errorKind } from './errors'

// The runbooks the product ships (runbooks/*.md); the worker's are there only with the worker.
const RUNBOOKS = ['agent-paused', 'app-key-rejected', 'hiagent-unreachable', 'high-error-rate', 'requests-waiting', 'slow-answers']

describe('each kind of failure leads to the runbook that helps', () => {
  it.each([
    ['hiagent_auth_failed', 'app-key-rejected'],
    ['hiagent_unreachable', 'hiagent-unreachable'],
    ['hiagent_not_configured', 'hiagent-unreachable'],
    ['hiagent_timeout', 'slow-answers'],
    ['hiagent_rate_limited', 'requests-waiting'],
    ['busy', 'requests-waiting'],
    ['circuit_open', 'agent-paused'],
    ['agent_failed', 'high-error-rate'],
    ['internal_error', 'high-error-rate'],
  ])('error code %s → %s', (code, runbook) => {
    expect(RUNBOOK_FOR[code]).toBe(runbook)
    expect(runbookFor(new ApiError(502, code, 'x'))).toBe(runbook)
  })

  it('never sends a refused app key to the sign-in secrets runbook', () => {
    expect(Object.values(RUNBOOK_FOR)).not.toContain('rotate-secrets')
    expect(errorKind('auth')).toEqual({ words: 'HiAgent did not accept the app key.', runbook: 'app-key-rejected' })
  })

  it('only names runbooks that exist', () => {
    for (const [kind, { runbook }] of Object.entries(ERROR_KINDS)) if (runbook) expect(RUNBOOKS, kind).toContain(runbook)
  })

  it('prefers the runbook the server names', () => {
    expect(runbookFor(new ApiError(502, 'hiagent_error', 'x', undefined, { runbook: 'app-key-rejected' }))).toBe('app-key-rejected')
  })

  it('shows plain words first and keeps the technical cause folded away for engineers', async () => {
    const error = new ApiError(502, 'hiagent_auth_failed', 'HiAgent did not accept this app key.', 'ref-1', {
      detail: 'HiAgent rejected the credentials for create_conversation (401 InvalidApiKey: bad key)',
      runbook: 'app-key-rejected',
    })
    render(
      <MemoryRouter>
        <Problem error={error} />
      </MemoryRouter>,
    )
    expect(screen.getByText('HiAgent did not accept this app key.')).toBeVisible()
    expect(screen.getByRole('link', { name: 'What to do about this' })).toHaveAttribute('href', '/runbooks/app-key-rejected')
    expect(screen.getByText('Details for engineers')).toBeInTheDocument()
    expect(screen.getByText(/401 InvalidApiKey/)).not.toBeVisible()
  })
})
