import { zodResolver } from '@hookform/resolvers/zod'
import { useMutation } from '@tanstack/react-query'
import { History } from 'lucide-react'
import * as React from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { api, call, type Schemas } from '@/api/client'
import { PageHeader } from '@/components/page'
import { Problem } from '@/components/problem'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { Table, TableBody, TableCaption, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { formatAmount, formatNumber } from '@/lib/format'

type Result = Schemas['SizingResult']

const count = (label: string, max: number) =>
  z.number({ error: `Enter ${label}.` }).min(0, 'Cannot be negative.').max(max, `At most ${formatNumber(max)}.`)

const schema = z.object({
  peak_requests_per_minute: count('the calls in the busiest minute', 1_000_000),
  average_call_seconds: z.number({ error: 'Enter a number of seconds.' }).gt(0, 'More than 0 seconds.').max(3600),
  average_tokens_per_call: count('a number of tokens', 10_000_000).int('Enter a whole number.'),
  hot_retention_days: count('a number of days', 3650).int('Enter a whole number.').min(1, 'At least 1 day.'),
  cold_retention_days: count('a number of days', 3650).int('Enter a whole number.').min(1, 'At least 1 day.'),
  db_pool_size: count('a number of connections', 1000).int('Enter a whole number.').min(1, 'At least 1.'),
  db_max_overflow: count('a number of connections', 1000).int('Enter a whole number.'),
  server_processes: count('a number of server processes', 256).int('Enter a whole number.').min(1, 'At least 1.'),
  background_tasks_per_minute: count('the tasks in the busiest minute', 1_000_000).optional(),
})

type Inputs = z.infer<typeof schema>

const FIELDS: { name: keyof Inputs; label: string; hint: string; step?: string; worker?: boolean }[] = [
  { name: 'peak_requests_per_minute', label: 'Calls in the busiest minute', hint: 'Across all apps and agents.' },
  { name: 'average_call_seconds', label: 'Average call length (seconds)', hint: 'From asking to the whole answer.', step: 'any' },
  { name: 'average_tokens_per_call', label: 'Average tokens per call', hint: 'Question and answer together.' },
  { name: 'hot_retention_days', label: 'Keep recent calls for (days)', hint: 'Searchable in Usage.' },
  { name: 'cold_retention_days', label: 'Keep archived calls for (days)', hint: 'Counted from the day of the call.' },
  { name: 'db_pool_size', label: 'Database connections per copy', hint: 'Kept open all the time.' },
  { name: 'db_max_overflow', label: 'Extra connections when busy', hint: 'Opened for peaks, then closed.' },
  { name: 'server_processes', label: 'Server processes per copy', hint: 'One per CPU in production.' },
  {
    name: 'background_tasks_per_minute',
    label: 'Background tasks in the busiest minute',
    hint: 'Work apps hand over to run later.',
    step: 'any',
    worker: true,
  },
]

/** Resource recommendations from the load you expect, or from last week's traffic. */
export default function CapacityPage() {
  const form = useForm<Inputs>({ resolver: zodResolver(schema) })
  const { errors } = form.formState
  const recommend = useMutation({
    mutationFn: (body: Partial<Inputs> & { use_observed?: boolean }) =>
      call(api.POST('/api/v1/sizing', { body: body as Schemas['SizingRequest'] })),
    onSuccess: (result) => form.reset(result.inputs),
  })
  const { mutate } = recommend

  React.useEffect(() => mutate({ use_observed: true }), [mutate])
  const withWorker = recommend.data?.worker ?? false

  return (
    <>
      <PageHeader
        title="Capacity"
        description="How much to run for the load you expect. The figures are starting points: watch Usage once live and adjust."
      />
      <div className="grid gap-6 xl:grid-cols-[minmax(0,1fr)_minmax(0,1.4fr)]">
        <Card>
          <CardHeader>
            <CardTitle>Expected load</CardTitle>
            <CardDescription>Change any figure, then ask for recommendations.</CardDescription>
          </CardHeader>
          <CardContent>
            <form noValidate onSubmit={form.handleSubmit((values) => recommend.mutate(values))} className="grid gap-4">
              <div className="grid gap-4 md:grid-cols-2">
                {FIELDS.filter((field) => withWorker || !field.worker).map((field) => (
                  <Field key={field.name} id={field.name} label={field.label} hint={field.hint} error={errors[field.name]?.message}>
                    {(control) => (
                      <Input type="number" inputMode="decimal" step={field.step ?? '1'} min={0} {...control} {...form.register(field.name, { valueAsNumber: true })} />
                    )}
                  </Field>
                ))}
              </div>
              <div className="flex flex-wrap gap-2">
                <Button type="submit" disabled={recommend.isPending}>
                  Recommend
                </Button>
                <Button variant="outline" disabled={recommend.isPending} onClick={() => recommend.mutate({ use_observed: true })}>
                  <History aria-hidden="true" />
                  Start from last week's traffic
                </Button>
              </div>
            </form>
          </CardContent>
        </Card>
        <Recommendations result={recommend.data} error={recommend.error} pending={recommend.isPending} />
      </div>
    </>
  )
}

function Recommendations({ result, error, pending }: { result?: Result; error: unknown; pending: boolean }) {
  return (
    <Card aria-busy={pending}>
      <CardHeader>
        <CardTitle>Recommendations</CardTitle>
        {result && <CardDescription>Based on {result.source}.</CardDescription>}
      </CardHeader>
      <CardContent>
        {error !== null && error !== undefined && <Problem error={error} title="Could not work this out" />}
        {result && (
          <Table>
            <TableCaption>Recommended resources</TableCaption>
            <TableHeader>
              <TableRow>
                <TableHead>What</TableHead>
                <TableHead className="text-right">How much</TableHead>
                <TableHead className="hidden md:table-cell">Why</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {result.recommendations.map((item) => (
                <TableRow key={item.key}>
                  <TableCell className="font-medium">{item.label}</TableCell>
                  <TableCell className="text-right whitespace-nowrap">{formatAmount(item.value, item.unit)}</TableCell>
                  <TableCell className="hidden text-muted-foreground md:table-cell">{item.reason}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
        {result && result.recommendations.some((item) => item.setting) && (
          <details className="mt-4 rounded-md border border-border p-3 text-sm">
            <summary className="cursor-pointer font-medium">For engineers: where each figure is set</summary>
            <dl className="mt-3 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1">
              {result.recommendations
                .filter((item) => item.setting)
                .map((item) => (
                  <React.Fragment key={item.key}>
                    <dt>{item.label}</dt>
                    <dd>
                      <code className="font-mono text-xs">{item.setting}</code> = {formatNumber(item.value)}
                    </dd>
                  </React.Fragment>
                ))}
            </dl>
          </details>
        )}
      </CardContent>
    </Card>
  )
}
