/**
 * Agents as a file: download every agent's settings (no app keys), and import such a file
 * from another environment after seeing what it would change. The same as `configs export`
 * and `configs import` on the command line.
 */
import { useQueryClient } from '@tanstack/react-query'
import { Download, Upload } from 'lucide-react'
import * as React from 'react'
import { api, ApiError, call, type Schemas } from '@/api/client'
import { useSession } from '@/auth/session'
import { useNotify } from '@/components/notifications'
import { Problem } from '@/components/problem'
import { Button } from '@/components/ui/button'
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog'
import { fieldLabel } from '@/lib/words'

type AgentsFile = Schemas['AgentConfigsFile']
type Change = Schemas['ConfigChange']

const ACTION_WORDS: Record<Change['action'], string> = {
  create: 'Added',
  update: 'Changed',
  unchanged: 'No change',
  kept: 'Kept as it is',
}

function describe(change: Change): string {
  const fields = change.action === 'update' ? (change.fields ?? []).map(fieldLabel).join(', ') : ''
  return `${ACTION_WORDS[change.action]}${fields ? `: ${fields}` : ''}`
}

/** Why a file was refused, each problem on its own line. */
function problemsOf(error: unknown): string[] {
  if (!(error instanceof ApiError)) return []
  const { problems, errors } = error.details
  if (Array.isArray(problems)) return problems.map(String)
  if (Array.isArray(errors))
    return (errors as { loc?: string[]; msg?: string }[]).map((item) =>
      [item.loc?.filter((part) => part !== 'body').join(' › '), item.msg].filter(Boolean).join(': '),
    )
  return []
}

/** Export and Import buttons for admins and configurators (viewers do not see them). */
export function AgentsFileActions() {
  const { reasonIfNot } = useSession()
  const queryClient = useQueryClient()
  const notify = useNotify()
  const picker = React.useRef<HTMLInputElement>(null)
  const [busy, setBusy] = React.useState(false)
  const [error, setError] = React.useState<unknown>(null)
  const [pending, setPending] = React.useState<{ file: AgentsFile; changes: Change[] } | null>(null)

  async function download() {
    setError(null)
    setBusy(true)
    try {
      const text = await call(api.GET('/api/v1/agent-configs/export', { parseAs: 'text' }))
      const link = document.createElement('a')
      link.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }))
      link.download = 'agent-configs.json'
      link.click()
      URL.revokeObjectURL(link.href)
    } catch (problem) {
      setError(problem)
    } finally {
      setBusy(false)
    }
  }

  async function preview(chosen: File) {
    setError(null)
    let file: AgentsFile
    try {
      file = JSON.parse(await chosen.text()) as AgentsFile
    } catch {
      setError(new Error(`${chosen.name} is not a file exported from the Agents page.`))
      return
    }
    setBusy(true)
    try {
      const report = await call(
        api.POST('/api/v1/agent-configs/import', { params: { query: { dry_run: true } }, body: file }),
      )
      setPending({ file, changes: report.changes })
    } catch (problem) {
      setError(problem)
    } finally {
      setBusy(false)
    }
  }

  async function confirm() {
    if (!pending) return
    setBusy(true)
    try {
      const report = await call(api.POST('/api/v1/agent-configs/import', { body: pending.file }))
      const changed = report.changes.filter((change) => change.action === 'create' || change.action === 'update')
      setPending(null)
      await queryClient.invalidateQueries({ queryKey: ['agent-configs'] })
      notify(changed.length === 1 ? '1 agent was imported.' : `${changed.length} agents were imported.`)
    } catch (problem) {
      setPending(null)
      setError(problem)
    } finally {
      setBusy(false)
    }
  }

  if (reasonIfNot('agents:configure')) return null
  const problems = problemsOf(error)
  const changing = pending?.changes.filter((change) => change.action !== 'unchanged').length ?? 0
  return (
    <>
      <Button variant="outline" onClick={download} disabled={busy}>
        <Download aria-hidden="true" />
        Export
      </Button>
      <Button
        variant="outline"
        onClick={() => picker.current?.click()}
        disabled={busy}
      >
        <Upload aria-hidden="true" />
        Import
      </Button>
      <input
        ref={picker}
        type="file"
        accept="application/json,.json"
        className="sr-only"
        aria-label="Agents file to import"
        tabIndex={-1}
        onChange={(event) => {
          const chosen = event.target.files?.[0]
          event.target.value = ''
          if (chosen) void preview(chosen)
        }}
      />
      {error !== null && (
        <div className="basis-full">
          <Problem error={error} title="The file was not imported; nothing changed" />
          {problems.length > 0 && (
            <ul className="mt-2 list-disc pl-5 text-sm" aria-label="What to fix in the file">
              {problems.map((problem) => (
                <li key={problem}>{problem}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <Dialog open={pending !== null} onOpenChange={(open) => !open && setPending(null)}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>Import these agents?</DialogTitle>
            <DialogDescription>
              {changing === 0
                ? 'Every agent in the file is already set up like this.'
                : 'Agents not in the file stay as they are. Agents without an app key in the file keep their own.'}
            </DialogDescription>
          </DialogHeader>
          <ul className="grid gap-1 text-sm" aria-label="What the import changes">
            {pending?.changes.map((change) => (
              <li key={change.name}>
                <span className="font-medium">{change.name}</span>: {describe(change)}
              </li>
            ))}
          </ul>
          <DialogFooter>
            <Button variant="outline" onClick={() => setPending(null)}>
              Cancel
            </Button>
            <Button onClick={confirm} disabled={busy || changing === 0}>
              Import
            </Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
    </>
  )
}
