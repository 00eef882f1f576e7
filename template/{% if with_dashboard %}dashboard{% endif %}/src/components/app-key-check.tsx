import { ShieldCheck } from 'lucide-react'
import * as React from 'react'
import { Link } from 'react-router'
import { api, call, type Schemas } from '@/api/client'
import { Problem } from '@/components/problem'
import { Button } from '@/components/ui/button'
import { cn } from '@/lib/cn'

type Verdict = Schemas['AppKeyCheckRead']

/** "Check with HiAgent": asks HiAgent whether it accepts the key in the form, before saving. */
export function AppKeyCheck({ appKey, disabled }: { appKey: () => string; disabled?: boolean }) {
  const [checking, setChecking] = React.useState(false)
  const [verdict, setVerdict] = React.useState<Verdict | null>(null)
  const [failure, setFailure] = React.useState<unknown>(null)

  const check = async () => {
    const key = appKey().trim()
    setVerdict(null)
    setFailure(null)
    if (!key) {
      setFailure(new Error('Paste the app key first.'))
      return
    }
    setChecking(true)
    try {
      setVerdict(await call(api.POST('/api/v1/agent-configs/app-key-check', { body: { app_key: key } })))
    } catch (error) {
      setFailure(error)
    } finally {
      setChecking(false)
    }
  }

  return (
    <div className="grid gap-2 md:col-span-2">
      <div>
        <Button variant="outline" size="sm" disabled={disabled || checking} onClick={() => void check()}>
          <ShieldCheck aria-hidden="true" />
          {checking ? 'Checking…' : 'Check with HiAgent'}
        </Button>
      </div>
      {verdict && (
        <p
          role="status"
          className={cn(
            'rounded-md border px-3 py-2 text-sm',
            verdict.verdict === 'accepted' && 'border-green-300 bg-success-background text-green-950',
            verdict.verdict === 'rejected' && 'border-red-300 bg-danger-background text-red-950',
            verdict.verdict === 'unknown' && 'border-amber-300 bg-warning-background text-amber-950',
          )}
        >
          {verdict.message}
          {verdict.runbook && (
            <>
              {' '}
              <Link to={`/runbooks/${verdict.runbook}`} className="underline">
                What to do about this
              </Link>
            </>
          )}
        </p>
      )}
      {failure !== null && <Problem error={failure} title="Could not check the key" />}
    </div>
  )
}
