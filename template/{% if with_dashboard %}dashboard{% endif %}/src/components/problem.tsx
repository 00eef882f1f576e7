import { Link } from 'react-router'
import { ApiError } from '@/api/client'
import { Alert } from '@/components/ui/alert'

/** Which runbook helps with an error, by the error's code. */
export const RUNBOOK_FOR: Record<string, string> = {
  hiagent_unreachable: 'hiagent-unreachable',
  hiagent_not_configured: 'hiagent-unreachable',
  hiagent_timeout: 'hiagent-unreachable',
  hiagent_error: 'hiagent-unreachable',
  hiagent_auth_failed: 'rotate-secrets',
  circuit_open: 'agent-paused',
  busy: 'requests-waiting',
  hiagent_rate_limited: 'requests-waiting',
  service_unavailable: 'hiagent-unreachable',
  internal_error: 'high-error-rate',
}

export function runbookFor(error: unknown): string | undefined {
  if (!(error instanceof ApiError)) return undefined
  return RUNBOOK_FOR[error.code]
}

/** An error in plain words, with a reference to quote and, when there is one, the runbook. */
export function Problem({ error, title = 'That did not work' }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : 'Something went wrong.'
  const reference = error instanceof ApiError ? error.correlationId : undefined
  const runbook = runbookFor(error)
  return (
    <Alert tone="danger" title={title}>
      <p>{message}</p>
      {runbook && (
        <p className="mt-2">
          <Link to={`/runbooks/${runbook}`}>What to do about this</Link>
        </p>
      )}
      {reference && <p className="mt-2 text-xs">Reference for support: {reference}</p>}
    </Alert>
  )
}
