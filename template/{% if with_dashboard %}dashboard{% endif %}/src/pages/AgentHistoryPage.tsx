import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { History } from 'lucide-react'
import { useOutletContext } from 'react-router'
import { api, call, type Schemas } from '@/api/client'
import { useNotify } from '@/components/notifications'
import { EmptyState } from '@/components/page'
import { Problem } from '@/components/problem'
import { Restricted } from '@/components/restricted'
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
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardHeader } from '@/components/ui/card'
import { Skeleton } from '@/components/ui/skeleton'
import { formatDateTime, formatRelative } from '@/lib/format'
import { CHANGE_LABELS, describeValue, FIELD_LABELS, fieldLabel } from '@/lib/words'
import type { AgentContext } from './AgentPage'

type Version = Schemas['VersionRead']

export default function AgentHistoryPage() {
  const { agent } = useOutletContext<AgentContext>()
  const queryClient = useQueryClient()
  const notify = useNotify()
  const versions = useQuery({
    queryKey: ['agent-configs', agent.id, 'versions', agent.version],
    queryFn: () =>
      call(api.GET('/api/v1/agent-configs/{config_id}/versions', { params: { path: { config_id: agent.id } } })),
  })
  const restore = useMutation({
    mutationFn: (version: number) =>
      call(
        api.POST('/api/v1/agent-configs/{config_id}/versions/{version}/restore', {
          params: { path: { config_id: agent.id, version } },
        }),
      ),
    onSuccess: async (saved, version) => {
      queryClient.setQueryData(['agent-configs', agent.id], saved)
      await queryClient.invalidateQueries({ queryKey: ['agent-configs'] })
      notify(`Version ${version} is back in use, saved as version ${saved.version}.`)
    },
  })

  if (versions.isPending) return <Skeleton className="h-40 w-full" />
  if (versions.isError) return <Problem error={versions.error} title="Could not load the history" />
  if (versions.data.items.length === 0)
    return <EmptyState title="No history yet">Changes appear here once the agent is saved.</EmptyState>

  return (
    <div className="grid gap-4">
      {restore.isError && <Problem error={restore.error} title="Could not bring that version back" />}
      <ol className="grid gap-4" aria-label="Versions, newest first">
        {versions.data.items.map((entry) => (
          <li key={entry.version}>
            <VersionCard
              entry={entry}
              current={entry.version === agent.version}
              restoring={restore.isPending && restore.variables === entry.version}
              onRestore={() => restore.mutate(entry.version)}
            />
          </li>
        ))}
      </ol>
    </div>
  )
}

function VersionCard({
  entry,
  current,
  restoring,
  onRestore,
}: {
  entry: Version
  current: boolean
  restoring: boolean
  onRestore: () => void
}) {
  // Settings in the order the form shows them; a first version lists what it was created with.
  const order = Object.keys(FIELD_LABELS)
  const rank = (field: string) => (order.includes(field) ? order.indexOf(field) : order.length)
  const changes = Object.entries(entry.diff ?? {})
    .filter(([, change]) => !(entry.change === 'created' && describeValue('', change.to) === '(empty)'))
    .sort(([a], [b]) => rank(a) - rank(b))
  const created = entry.change === 'created'
  return (
    <Card>
      <CardHeader className="flex-row flex-wrap items-start justify-between gap-3">
        <div>
          <h2 className="flex items-center gap-2 font-semibold">
            Version {entry.version}
            {current && <Badge tone="info">In use now</Badge>}
          </h2>
          <p className="text-sm text-muted-foreground">
            {CHANGE_LABELS[entry.change] ?? entry.change}{' '}
            <time dateTime={entry.changed_at} title={formatDateTime(entry.changed_at)}>
              {formatRelative(entry.changed_at)}
            </time>
          </p>
        </div>
        {!current && (
          <Restricted permission="agents:configure">
            {(allowed) => (
              <AlertDialog>
                <AlertDialogTrigger asChild>
                  <Button variant="outline" size="sm" disabled={allowed.disabled || restoring} aria-describedby={allowed['aria-describedby']}>
                    <History aria-hidden="true" />
                    {restoring ? 'Bringing it back…' : `Use version ${entry.version} again`}
                  </Button>
                </AlertDialogTrigger>
                <AlertDialogContent>
                  <AlertDialogTitle>Use version {entry.version} again?</AlertDialogTitle>
                  <AlertDialogDescription>
                    Its settings replace the current ones and are saved as a new version. Nothing is lost: you can switch back
                    the same way.
                  </AlertDialogDescription>
                  <AlertDialogFooter>
                    <AlertDialogCancel>Cancel</AlertDialogCancel>
                    <AlertDialogAction onClick={onRestore}>Use version {entry.version}</AlertDialogAction>
                  </AlertDialogFooter>
                </AlertDialogContent>
              </AlertDialog>
            )}
          </Restricted>
        )}
      </CardHeader>
      <CardContent>
        {changes.length === 0 ? (
          <p className="text-sm text-muted-foreground">No settings changed.</p>
        ) : (
          <table className="w-full text-sm">
            <caption className="sr-only">
              {created ? `Settings of version ${entry.version}` : `Changes in version ${entry.version}`}
            </caption>
            <thead>
              <tr className="border-b border-border text-left text-muted-foreground">
                <th scope="col" className="w-1/3 py-2 pr-3 font-semibold">Setting</th>
                {!created && <th scope="col" className="py-2 pr-3 font-semibold">Before</th>}
                <th scope="col" className="py-2 font-semibold">{created ? 'Value' : 'After'}</th>
              </tr>
            </thead>
            <tbody>
              {changes.map(([field, change]) => (
                <tr key={field} className="border-b border-border last:border-0 align-top">
                  <th scope="row" className="py-2 pr-3 text-left font-medium">{fieldLabel(field)}</th>
                  {!created && (
                    <td className="py-2 pr-3 break-all">
                      <del className="text-red-800 decoration-red-800/60">{describeValue(field, change.from)}</del>
                    </td>
                  )}
                  <td className="py-2 break-all">
                    {created ? (
                      describeValue(field, change.to)
                    ) : (
                      <ins className="text-green-800 no-underline">{describeValue(field, change.to)}</ins>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </CardContent>
    </Card>
  )
}
