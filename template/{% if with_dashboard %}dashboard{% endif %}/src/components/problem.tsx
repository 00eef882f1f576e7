import { Link } from 'react-router'
import { ApiError } from '@/api/client'
import { Alert } from '@/components/ui/alert'
import { RUNBOOK_FOR } from '@/lib/errors'

export function runbookFor(error: unknown): string | undefined {
  if (!(error instanceof ApiError)) return undefined
  // The backend names the runbook for HiAgent's failures; the table covers the other codes.
  const named = error.details.runbook
  return typeof named === 'string' && named ? named : RUNBOOK_FOR[error.code]
}

/** An error in plain words, with a reference to quote and, when there is one, the runbook. */
export function Problem({ error, title = 'That did not work' }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : 'Something went wrong.'
  const reference = error instanceof ApiError ? error.correlationId : undefined
  const runbook = runbookFor(error)
  const technical = error instanceof ApiError && typeof error.details.detail === 'string' ? error.details.detail : null
  return (
    <Alert tone="danger" title={title}>
      <p>{message}</p>
      {technical && (
        <details className="mt-2 text-xs">
          <summary className="cursor-pointer">Details for engineers</summary>
          <p className="mt-1 break-words font-mono">{technical}</p>
        </details>
      )}
      {runbook && (
        <p className="mt-2">
          <Link to={`/runbooks/${runbook}`}>What to do about this</Link>
        </p>
      )}
      {reference && <p className="mt-2 text-xs">Reference for support: {reference}</p>}
    </Alert>
  )
}
