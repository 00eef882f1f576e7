import { useOutletContext } from 'react-router'
import { useSession } from '@/auth/session'
import { TestConsole, TestHistory } from '@/components/test-console'
import { Alert } from '@/components/ui/alert'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import type { AgentContext } from './AgentPage'

const WHAT_TO_TRY: Record<string, string> = {
  agent: 'Send a message and watch the answer arrive.',
  workflow: 'Give the inputs the workflow expects and run it once.',
  retriever: 'Search the knowledge bases and see which passages come back.',
  tool: 'Give the inputs the tool expects and run it once.',
}

export default function AgentTestPage() {
  const { agent } = useOutletContext<AgentContext>()
  const { reasonIfNot } = useSession()
  const reason = reasonIfNot('agents:test')
  return (
    <div className="grid gap-6">
      <Card>
        <CardHeader>
          <CardTitle>Try it</CardTitle>
          <CardDescription>
            {WHAT_TO_TRY[agent.config_type]} Tests work even while it is turned off.
          </CardDescription>
        </CardHeader>
        <CardContent>
          {reason ? <Alert tone="info">{reason}</Alert> : <TestConsole agent={agent} />}
        </CardContent>
      </Card>
      <TestHistory agentId={agent.id} />
    </div>
  )
}
