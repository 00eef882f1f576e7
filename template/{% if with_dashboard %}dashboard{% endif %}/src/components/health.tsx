import { useQuery } from '@tanstack/react-query'
import { Link } from 'react-router'
import { api, call } from '@/api/client'
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
