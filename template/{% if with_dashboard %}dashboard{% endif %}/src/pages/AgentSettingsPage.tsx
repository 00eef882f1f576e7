import { useQueryClient } from '@tanstack/react-query'
import { useNavigate, useOutletContext } from 'react-router'
import { api, call } from '@/api/client'
import { useSession } from '@/auth/session'
import { AgentForm } from '@/components/agent-form'
import { useNotify } from '@/components/notifications'
import { Restricted } from '@/components/restricted'
import { Alert } from '@/components/ui/alert'
import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogTitle,
  AlertDialogTrigger,
} from '@/components/ui/alert-dialog'
import { Button } from '@/components/ui/button'
import type { AgentContext } from './AgentPage'

export default function AgentSettingsPage() {
  const { agent } = useOutletContext<AgentContext>()
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  const notify = useNotify()
  const { reasonIfNot } = useSession()
  const reason = reasonIfNot('agents:configure')

  const remove = async () => {
    try {
      await call(api.DELETE('/api/v1/agent-configs/{config_id}', { params: { path: { config_id: agent.id } } }))
      queryClient.removeQueries({ queryKey: ['agent-configs', agent.id] })
      await queryClient.invalidateQueries({ queryKey: ['agent-configs'] })
      notify(`Deleted “${agent.name}”.`)
      navigate('/agents')
    } catch (error) {
      notify(error instanceof Error ? error.message : 'Could not delete it.', 'danger')
    }
  }

  return (
    <div className="grid gap-6">
      {reason && <Alert tone="info">{reason} You can look at the settings.</Alert>}
      <AgentForm
        key={`${agent.id}-${agent.version}`}
        initial={agent}
        readOnly={Boolean(reason)}
        submitLabel="Save changes"
        onSubmit={async (payload) => {
          const saved = await call(
            api.PATCH('/api/v1/agent-configs/{config_id}', { params: { path: { config_id: agent.id } }, body: payload }),
          )
          queryClient.setQueryData(['agent-configs', agent.id], saved)
          await queryClient.invalidateQueries({ queryKey: ['agent-configs'] })
          notify(saved.version === agent.version ? 'Nothing changed.' : `Saved as version ${saved.version}.`)
        }}
      />
      <section aria-labelledby="danger-zone" className="rounded-lg border border-red-300 p-5">
        <h2 id="danger-zone" className="font-semibold">
          Delete this agent
        </h2>
        <p className="mb-3 text-sm text-muted-foreground">
          Apps that use “{agent.name}” stop working. Its history and test results go too.
        </p>
        <Restricted permission="agents:configure">
          {(allowed) => (
            <AlertDialog>
              <AlertDialogTrigger asChild>
                <Button variant="destructive" {...allowed}>
                  Delete agent
                </Button>
              </AlertDialogTrigger>
              <AlertDialogContent>
                <AlertDialogTitle>Delete “{agent.name}”?</AlertDialogTitle>
                <AlertDialogDescription>
                  Apps that use it will get an error. This cannot be undone; to pause it instead, turn off "Available to apps".
                </AlertDialogDescription>
                <AlertDialogFooter>
                  <AlertDialogCancel>Keep it</AlertDialogCancel>
                  <AlertDialogAction className="bg-destructive hover:bg-red-800" onClick={() => void remove()}>
                    Delete
                  </AlertDialogAction>
                </AlertDialogFooter>
              </AlertDialogContent>
            </AlertDialog>
          )}
        </Restricted>
      </section>
    </div>
  )
}
