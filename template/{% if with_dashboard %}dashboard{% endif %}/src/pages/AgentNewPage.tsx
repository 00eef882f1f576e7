import { useQueryClient } from '@tanstack/react-query'
import { FlaskConical } from 'lucide-react'
import * as React from 'react'
import { useNavigate } from 'react-router'
import { api, call } from '@/api/client'
import { useSession } from '@/auth/session'
import { AgentForm, type AgentConfigInput } from '@/components/agent-form'
import { useNotify } from '@/components/notifications'
import { PageHeader } from '@/components/page'
import { TestConsole } from '@/components/test-console'
import { Alert } from '@/components/ui/alert'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'

/**
 * Add an agent. "Test before saving" tries the settings as they are in the form: nothing is
 * stored until "Save agent", so leaving the page leaves nothing behind and the name stays free.
 */
export default function AgentNewPage() {
  const navigate = useNavigate()
  const notify = useNotify()
  const queryClient = useQueryClient()
  const { reasonIfNot } = useSession()
  const reason = reasonIfNot('agents:configure')
  const [trying, setTrying] = React.useState<{ settings: AgentConfigInput; round: number } | null>(null)

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
          const saved = await call(api.POST('/api/v1/agent-configs', { body: payload }))
          await queryClient.invalidateQueries({ queryKey: ['agent-configs'] })
          notify(`Saved “${saved.name}”.${saved.enabled ? ' Apps can now use it by that name.' : ''}`)
          navigate(`/agents/${saved.id}`)
        }}
        extraActions={({ values, busy }) =>
          reasonIfNot('agents:test') ? null : (
            <Button
              variant="outline"
              disabled={busy}
              onClick={() => {
                const payload = values()
                if (payload) setTrying((now) => ({ settings: payload, round: (now?.round ?? 0) + 1 }))
              }}
            >
              <FlaskConical aria-hidden="true" />
              {trying ? 'Test these settings' : 'Test before saving'}
            </Button>
          )
        }
      >
        {trying && (
          <Card className="mt-6">
            <CardHeader>
              <CardTitle>Try it before saving</CardTitle>
              <CardDescription>
                Nothing is saved while you try it: apps cannot use it until you save. Changed a setting? Press "Test these
                settings" again.
              </CardDescription>
            </CardHeader>
            <CardContent>
              <TestConsole key={trying.round} agent={trying.settings} draft={trying.settings} />
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
