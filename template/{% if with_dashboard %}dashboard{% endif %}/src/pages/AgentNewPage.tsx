import { useQueryClient } from '@tanstack/react-query'
import { FlaskConical } from 'lucide-react'
import * as React from 'react'
import { useNavigate } from 'react-router'
import { api, call, type Schemas } from '@/api/client'
import { useSession } from '@/auth/session'
import { AgentForm, type AgentConfigInput } from '@/components/agent-form'
import { useNotify } from '@/components/notifications'
import { PageHeader } from '@/components/page'
import { TestConsole } from '@/components/test-console'
import { Alert } from '@/components/ui/alert'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'

type Agent = Schemas['AgentConfigRead']

/**
 * Add an agent. "Test before saving" keeps a draft that is turned off (apps cannot use it),
 * so it can be tried; "Save agent" then stores the settings as chosen.
 */
export default function AgentNewPage() {
  const navigate = useNavigate()
  const notify = useNotify()
  const queryClient = useQueryClient()
  const { reasonIfNot } = useSession()
  const reason = reasonIfNot('agents:configure')
  const [draft, setDraft] = React.useState<Agent | null>(null)
  const [preparing, setPreparing] = React.useState(false)

  const saveDraft = async (payload: AgentConfigInput): Promise<Agent> => {
    const body = { ...payload, enabled: false }
    const saved = draft
      ? await call(api.PATCH('/api/v1/agent-configs/{config_id}', { params: { path: { config_id: draft.id } }, body }))
      : await call(api.POST('/api/v1/agent-configs', { body }))
    setDraft(saved)
    return saved
  }

  return (
    <>
      <PageHeader title="Add an agent" description="Make an agent from the HiAgent platform available to your apps." />
      {reason && (
        <Alert tone="warning" className="mb-4">
          {reason}
        </Alert>
      )}
      <AgentForm
        id="new-agent"
        readOnly={Boolean(reason)}
        submitLabel="Save agent"
        onSubmit={async (payload) => {
          const saved = draft
            ? await call(
                api.PATCH('/api/v1/agent-configs/{config_id}', { params: { path: { config_id: draft.id } }, body: payload }),
              )
            : await call(api.POST('/api/v1/agent-configs', { body: payload }))
          await queryClient.invalidateQueries({ queryKey: ['agent-configs'] })
          notify(`Saved “${saved.name}”.${saved.enabled ? ' Apps can now use it by that name.' : ''}`)
          navigate(`/agents/${saved.id}`)
        }}
        extraActions={({ values, showError, busy }) =>
          reasonIfNot('agents:test') ? null : (
            <Button
              variant="outline"
              disabled={busy || preparing}
              onClick={async () => {
                const payload = values()
                if (!payload) return
                setPreparing(true)
                try {
                  await saveDraft(payload)
                } catch (error) {
                  showError(error)
                } finally {
                  setPreparing(false)
                }
              }}
            >
              <FlaskConical aria-hidden="true" />
              {draft ? 'Test these settings' : 'Test before saving'}
            </Button>
          )
        }
      >
        {draft && (
          <Card className="mt-6">
            <CardHeader>
              <CardTitle>Try it before saving</CardTitle>
              <CardDescription>
                Kept as a turned-off draft while you try it: apps cannot use it until you save. Changed a setting? Press
                "Test these settings" again.
              </CardDescription>
            </CardHeader>
            <CardContent>
              <TestConsole key={`${draft.id}-${draft.version}`} agent={draft} />
              <div className="mt-4 flex justify-end border-t border-border pt-4">
                <Button type="submit" form="new-agent">
                  Save agent
                </Button>
              </div>
            </CardContent>
          </Card>
        )}
      </AgentForm>
    </>
  )
}
