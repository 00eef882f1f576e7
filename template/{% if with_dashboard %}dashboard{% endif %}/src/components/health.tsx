import { useQuery } from '@tanstack/react-query'
import { Link } from 'react-router'
import { api, call, type Schemas } from '@/api/client'
import { Alert } from '@/components/ui/alert'
import { Badge } from '@/components/ui/badge'
import { cn } from '@/lib/cn'
import { describeHealth } from '@/lib/health'

export function breakerQuery(agentId: number) {
  return {
    queryKey: ['agent-configs', agentId, 'breaker'],
    queryFn: () => call(api.GET('/api/v1/agent-configs/{config_id}/breaker', { params: { path: { config_id: agentId } } })),
    refetchInterval: 10_000,
  }
}

/** How an agent is doing right now, in a sentence, with the runbook when it needs attention. */
export function HealthNote({ agentId }: { agentId: number }) {
  const breaker = useQuery(breakerQuery(agentId))
  if (!breaker.data) return null
  const health = describeHealth(breaker.data)
  return (
    <div
      className={cn(
        '-mt-3 mb-5 flex flex-wrap items-center gap-x-3 gap-y-1 rounded-md border px-3 py-2 text-sm',
        health.tone === 'success' && 'border-green-300 bg-success-background text-green-950',
        health.tone === 'warning' && 'border-amber-300 bg-warning-background text-amber-950',
        health.tone === 'danger' && 'border-red-300 bg-danger-background text-red-950',
      )}
    >
      <span className="font-semibold">{health.label}.</span>
      <span>{health.detail}</span>
      {health.runbook && (
        <Link to={`/runbooks/${health.runbook}`} className="underline">
          What to do about this
        </Link>
      )}
    </div>
  )
}

export const hiagentStatusQuery = {
  queryKey: ['hiagent-status'],
  queryFn: () => call(api.GET('/api/v1/hiagent/status')),
  refetchInterval: 15_000,
}

/** Whether apps can use an agent now: turned on is not enough when HiAgent cannot be reached. */
export function AgentStatusBadge({ agent, status }: { agent: { id: number; enabled: boolean }; status?: Schemas['HiAgentStatusRead'] }) {
  if (!agent.enabled) return <Badge>Turned off</Badge>
  if (status && !status.reachable) return <Badge tone="danger">Cannot reach HiAgent</Badge>
  if (status?.paused.includes(agent.id)) return <Badge tone="warning">Paused after failures</Badge>
  if (status?.failing.includes(agent.id)) return <Badge tone="danger">Calls fail</Badge>
  return <Badge tone="success">Available</Badge>
}

/** Above the agents list when HiAgent cannot be reached: no agent works, whatever its switch says. */
export function HiAgentDown({ status }: { status?: Schemas['HiAgentStatusRead'] }) {
  if (!status || status.reachable) return null
  return (
    <Alert tone="danger" className="mb-4" title="No agent can answer right now">
      {status.message} Turned-on agents answer again as soon as HiAgent is back.{' '}
      <Link to="/runbooks/hiagent-unreachable" className="underline">
        What to do about this
      </Link>
    </Alert>
  )
}
