import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { FlaskConical } from 'lucide-react'
import * as React from 'react'
import { ApiError, api, call, type Schemas } from '@/api/client'
import { useSession } from '@/auth/session'
import { useNotify } from '@/components/notifications'
import { EmptyState, PageHeader } from '@/components/page'
import { Problem } from '@/components/problem'
import { Alert } from '@/components/ui/alert'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { Skeleton } from '@/components/ui/skeleton'
import { Table, TableBody, TableCaption, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { formatDateTime, formatDuration, formatNumber, formatPercent } from '@/lib/format'

type Experiment = Schemas['ExperimentRead']
type Variant = Schemas['VariantResults']

/** The automatic stop's defaults (the API's): 100 calls each, 5 points more failures, 50% slower. */
const AUTOMATIC_STOP = { min_calls: 100, max_error_rate_increase: 0.05, max_p95_increase: 0.5 }

const SELECT =
  'flex h-10 w-full rounded-md border border-input bg-background px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-ring disabled:opacity-60'

/** A/B experiments: a new version of an agent tried on part of the users, and how it did. */
export default function ExperimentsPage() {
  const { can } = useSession()
  const experiments = useQuery({
    queryKey: ['experiments'],
    queryFn: () => call(api.GET('/api/v1/experiments', { params: { query: { limit: 100 } } })),
    refetchInterval: 30_000,
  })
  return (
    <>
      <PageHeader
        title="Experiments"
        description="Try a new version of an agent on part of your users, next to the current one. Each person always gets the same version."
      />
      {can('agents:configure') && <StartExperiment />}
      {experiments.isPending && <Skeleton className="h-40 w-full" />}
      {experiments.isError && <Problem error={experiments.error} title="Could not load the experiments" />}
      {experiments.data && experiments.data.items.length === 0 && (
        <EmptyState title="No experiments yet">
          Add the new version as its own agent first, then start an experiment to compare it with the current one.
        </EmptyState>
      )}
      {experiments.data && experiments.data.items.length > 0 && (
        <ul className="grid gap-4">
          {experiments.data.items.map((experiment) => (
            <li key={experiment.id}>
              <ExperimentCard experiment={experiment} />
            </li>
          ))}
        </ul>
      )}
    </>
  )
}

function ExperimentCard({ experiment }: { experiment: Experiment }) {
  const { can } = useSession()
  const queryClient = useQueryClient()
  const notify = useNotify()
  const stop = useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/experiments/{experiment_id}/stop', { params: { path: { experiment_id: experiment.id } }, body: { reason: '' } })),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['experiments'] })
      notify(`Stopped "${experiment.name}". Everyone gets ${experiment.config_name} again.`)
    },
    onError: (error) => notify(error.message, 'danger'),
  })
  const running = experiment.status === 'running'
  const { current, challenger } = experiment.results
  return (
    <Card>
      <CardHeader>
        <div className="flex flex-wrap items-start justify-between gap-2">
          <div>
            <CardTitle>{experiment.name}</CardTitle>
            <CardDescription>
              {experiment.challenger_name} (new) for {experiment.challenger_share}% of users, {experiment.config_name} (current) for the
              others. Started {formatDateTime(experiment.started_at)}
              {experiment.stopped_at && `, stopped ${formatDateTime(experiment.stopped_at)}`}.
            </CardDescription>
          </div>
          {running ? <Badge tone="success">Running</Badge> : <Badge>{experiment.stopped_automatically ? 'Stopped automatically' : 'Stopped'}</Badge>}
        </div>
      </CardHeader>
      <CardContent className="grid gap-4">
        <p>{experiment.results.summary}</p>
        {experiment.stop_reason && (
          <Alert tone={experiment.stopped_automatically ? 'warning' : 'info'}>{experiment.stop_reason}</Alert>
        )}
        <div className="rounded-lg border border-border bg-background">
          <Table>
            <TableCaption>Calls since the experiment started</TableCaption>
            <TableHeader>
              <TableRow>
                <TableHead>Version</TableHead>
                <TableHead>Calls</TableHead>
                <TableHead>Failed</TableHead>
                <TableHead>95% answered within</TableHead>
                <TableHead>Tokens used</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              <VariantRow label="Current" variant={current} />
              <VariantRow label="New" variant={challenger} />
            </TableBody>
          </Table>
        </div>
        <p className="text-sm text-muted-foreground">
          It stops by itself once each version has {formatNumber(experiment.min_calls)} calls, if the new one fails more than{' '}
          {formatPercent(experiment.max_error_rate_increase)} more often, or is more than {formatPercent(experiment.max_p95_increase)} slower.
        </p>
        {running && can('agents:configure') && (
          <div>
            <Button variant="outline" disabled={stop.isPending} onClick={() => stop.mutate()} aria-label={`Stop ${experiment.name}`}>
              Stop and send everyone to {experiment.config_name}
            </Button>
          </div>
        )}
      </CardContent>
    </Card>
  )
}

function VariantRow({ label, variant }: { label: string; variant: Variant }) {
  return (
    <TableRow>
      <TableCell>
        <p className="font-medium">{variant.config_name}</p>
        <p className="text-muted-foreground">{label}</p>
      </TableCell>
      <TableCell>{formatNumber(variant.calls)}</TableCell>
      <TableCell>
        {formatNumber(variant.failures)} ({formatPercent(variant.failure_rate)})
      </TableCell>
      <TableCell>{variant.p95_ms === null ? 'no calls yet' : formatDuration(variant.p95_ms)}</TableCell>
      <TableCell>{formatNumber(variant.tokens_in + variant.tokens_out)}</TableCell>
    </TableRow>
  )
}

function StartExperiment() {
  const queryClient = useQueryClient()
  const notify = useNotify()
  const agents = useQuery({
    queryKey: ['agent-configs', 'experiment choices'],
    queryFn: () => call(api.GET('/api/v1/agent-configs', { params: { query: { config_type: 'agent', limit: 200, sort: 'name' } } })),
  })
  const [name, setName] = React.useState('')
  const [current, setCurrent] = React.useState('')
  const [challenger, setChallenger] = React.useState('')
  const [share, setShare] = React.useState('50')
  const [failure, setFailure] = React.useState<string | null>(null)
  const start = useMutation({
    mutationFn: (body: Schemas['ExperimentCreate']) => call(api.POST('/api/v1/experiments', { body })),
    onSuccess: async (created) => {
      await queryClient.invalidateQueries({ queryKey: ['experiments'] })
      notify(`Started "${created.name}".`)
      setName('')
      setChallenger('')
    },
    onError: (error) => setFailure(error instanceof ApiError ? error.message : String(error)),
  })
  const choices = agents.data?.items ?? []
  const submit = (event: React.FormEvent) => {
    event.preventDefault()
    setFailure(null)
    const percent = Number(share)
    if (!current || !challenger) return setFailure('Choose the current agent and the new version.')
    if (current === challenger) return setFailure('The new version must be another agent than the current one.')
    if (!Number.isInteger(percent) || percent < 1 || percent > 99) return setFailure('The share of users must be 1 to 99%.')
    start.mutate({
      name: name.trim() || `${choices.find((c) => String(c.id) === challenger)?.name ?? 'New version'} trial`,
      config_id: Number(current),
      challenger_id: Number(challenger),
      challenger_share: percent,
      ...AUTOMATIC_STOP,
    })
  }
  return (
    <Card className="mb-6">
      <CardHeader>
        <CardTitle>Start an experiment</CardTitle>
        <CardDescription>Calls to the current agent go to the new version for the share of users you choose.</CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={submit} noValidate className="grid gap-4 md:grid-cols-2">
          <Field id="experiment-name" label="What are you trying?" hint="For example: shorter prompt.">
            {(control) => <Input {...control} maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field id="experiment-share" label="Share of users on the new version (%)">
            {(control) => <Input {...control} type="number" min={1} max={99} value={share} onChange={(e) => setShare(e.target.value)} />}
          </Field>
          <Field id="experiment-current" label="Current agent">
            {(control) => (
              <select {...control} className={SELECT} value={current} onChange={(e) => setCurrent(e.target.value)}>
                <option value="">Choose…</option>
                {choices.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field id="experiment-challenger" label="New version">
            {(control) => (
              <select {...control} className={SELECT} value={challenger} onChange={(e) => setChallenger(e.target.value)}>
                <option value="">Choose…</option>
                {choices.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {failure && (
            <Alert tone="danger" className="md:col-span-2">
              {failure}
            </Alert>
          )}
          <div className="md:col-span-2">
            <Button type="submit" disabled={start.isPending}>
              <FlaskConical aria-hidden="true" />
              Start experiment
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  )
}
