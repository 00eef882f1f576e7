import { useQuery, useQueryClient } from '@tanstack/react-query'
import { Plus, Send, Square, Trash2 } from 'lucide-react'
import * as React from 'react'
import { api, call, OFFLINE_MESSAGE, type Schemas, toApiError } from '@/api/client'
import { eventPayload, readEvents } from '@/api/events'
import { Problem } from '@/components/problem'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { Textarea } from '@/components/ui/textarea'
import { formatDuration, formatNumber, formatRelative } from '@/lib/format'

type Agent = Pick<Schemas['AgentConfigRead'], 'name' | 'config_type'> & { id?: number; variables?: Record<string, string> }
/** A stored test run, or the outcome of trying unsaved settings (nothing stored). */
type TestRun = Schemas['DraftTestRead']
interface Pair {
  key: string
  value: string
}

const STATUS_WORDS: Record<string, { label: string; tone: 'success' | 'danger' | 'warning' }> = {
  success: { label: 'Worked', tone: 'success' },
  failure: { label: 'Failed', tone: 'danger' },
  timeout: { label: 'Took too long', tone: 'warning' },
}

const PROMPTS: Record<string, { label: string; hint: string }> = {
  agent: { label: 'Your message', hint: 'Ask what a user of your app would ask.' },
  retriever: { label: 'Search for', hint: 'Words or a question; the best matching passages come back.' },
}

export function testRunsKey(agentId: number) {
  return ['agent-configs', agentId, 'test-runs']
}

/**
 * Try a configuration: the answer appears as it is written; every try is kept in the history.
 * With `draft` (settings not saved yet) the settings themselves are tried and nothing is kept.
 */
export function TestConsole({
  agent,
  draft,
  onFinished,
}: {
  agent: Agent
  draft?: Schemas['AgentConfigCreate']
  onFinished?: (run: TestRun) => void
}) {
  const queryClient = useQueryClient()
  const prompt = PROMPTS[agent.config_type]
  const [query, setQuery] = React.useState('')
  const [inputs, setInputs] = React.useState<Pair[]>(() =>
    Object.entries(agent.variables ?? {}).map(([key, value]) => ({ key, value })),
  )
  const [answer, setAnswer] = React.useState('')
  const [run, setRun] = React.useState<TestRun | null>(null)
  const [failure, setFailure] = React.useState<unknown>(null)
  const [running, setRunning] = React.useState(false)
  const [started, setStarted] = React.useState(0)
  const abort = React.useRef<AbortController | null>(null)
  const queryId = React.useId()

  React.useEffect(() => () => abort.current?.abort(), [])

  const pairs = Object.fromEntries(inputs.filter((p) => p.key.trim()).map((p) => [p.key.trim(), p.value]))
  const missingQuery = Boolean(prompt) && !query.trim()

  const start = async (event: React.FormEvent) => {
    event.preventDefault()
    if (missingQuery || running) return
    const controller = new AbortController()
    abort.current = controller
    setRunning(true)
    setStarted(Date.now())
    setAnswer('')
    setRun(null)
    setFailure(null)
    const body: Schemas['TestRunRequest'] =
      agent.config_type === 'agent'
        ? { query: query.trim(), variables: pairs }
        : agent.config_type === 'retriever'
          ? { query: query.trim() }
          : { inputs: pairs }
    const target: Target = draft ? { draft } : { id: agent.id ?? 0 }
    try {
      const finished =
        agent.config_type === 'agent'
          ? await streamAnswer(target, body, controller.signal, (text) => setAnswer((all) => all + text), setFailure)
          : await runOnce(target, body, controller.signal)
      if (finished) {
        setRun(finished)
        if (finished.status !== 'success' && finished.error && agent.config_type !== 'agent')
          setFailure(new Error(finished.error))
        onFinished?.(finished)
      }
    } catch (error) {
      if (!(error instanceof DOMException && error.name === 'AbortError')) setFailure(error)
    } finally {
      setRunning(false)
      abort.current = null
      if (!draft && agent.id !== undefined) await queryClient.invalidateQueries({ queryKey: testRunsKey(agent.id) })
    }
  }

  const output = run ? (agent.config_type === 'agent' ? answer || run.test_output : run.test_output) : answer

  return (
    <div className="grid gap-4">
      <form onSubmit={start} className="grid gap-4" aria-label={`Test ${agent.name}`}>
        {prompt && (
          <Field id={queryId} label={prompt.label} hint={prompt.hint}>
            {(control) => (
              <Textarea
                rows={3}
                value={query}
                onChange={(event) => setQuery(event.target.value)}
                onKeyDown={(event) => {
                  if (event.key === 'Enter' && (event.metaKey || event.ctrlKey)) event.currentTarget.form?.requestSubmit()
                }}
                {...control}
              />
            )}
          </Field>
        )}
        {agent.config_type !== 'retriever' && <PairsEditor pairs={inputs} onChange={setInputs} agentType={agent.config_type} />}
        <div className="flex flex-wrap items-center gap-3">
          <Button type="submit" disabled={running || missingQuery}>
            <Send aria-hidden="true" />
            {running ? 'Running…' : agent.config_type === 'agent' ? 'Send' : 'Run test'}
          </Button>
          {running && (
            <Button variant="outline" onClick={() => abort.current?.abort()}>
              <Square aria-hidden="true" />
              Stop
            </Button>
          )}
          <RunStatus running={running} started={started} run={run} />
        </div>
      </form>
      {failure !== null && <Problem error={failure} title="The test did not work" />}
      {(output || running) && (
        <section aria-label="Answer" className="rounded-lg border border-border bg-background p-4">
          <h3 className="mb-2 text-sm font-semibold text-muted-foreground">Answer</h3>
          <Output type={agent.config_type} text={output} streaming={running} />
        </section>
      )}
    </div>
  )
}

/** What is tried: a saved configuration (by id) or unsaved settings. */
type Target = { id: number; draft?: undefined } | { draft: Schemas['AgentConfigCreate']; id?: undefined }

async function runOnce(target: Target, body: Schemas['TestRunRequest'], signal: AbortSignal): Promise<TestRun> {
  if (target.draft)
    return (await call(
      api.POST('/api/v1/agent-configs/draft-test-runs', { body: { config: target.draft, test: body }, signal }),
    )) as TestRun
  return call(
    api.POST('/api/v1/agent-configs/{config_id}/test-runs', { params: { path: { config_id: target.id } }, body, signal }),
  ) as Promise<TestRun>
}

async function streamAnswer(
  target: Target,
  body: Schemas['TestRunRequest'],
  signal: AbortSignal,
  onText: (text: string) => void,
  onError: (error: unknown) => void,
): Promise<TestRun | null> {
  const request = target.draft
    ? api.POST('/api/v1/agent-configs/draft-test-runs', {
        params: { header: { accept: 'text/event-stream' } },
        body: { config: target.draft, test: body },
        parseAs: 'stream',
        signal,
      })
    : api.POST('/api/v1/agent-configs/{config_id}/test-runs', {
        params: { path: { config_id: target.id }, header: { accept: 'text/event-stream' } },
        body,
        parseAs: 'stream',
        signal,
      })
  const result = await (request as Promise<{ data?: unknown; error?: unknown; response: Response }>)
    .catch((error: unknown) => {
      if (error instanceof DOMException && error.name === 'AbortError') throw error
      throw new Error(OFFLINE_MESSAGE)
    })
  if (!result.response.ok || !result.data) throw toApiError(result.response, result.error)
  let finished: TestRun | null = null
  for await (const event of readEvents(result.data as ReadableStream<Uint8Array>)) {
    const payload = eventPayload<Record<string, unknown>>(event)
    if (event.event === 'message' && typeof payload === 'object') onText(String(payload.text ?? ''))
    else if (event.event === 'error') onError(toApiError(new Response(null, { status: 502 }), payload))
    else if (event.event === 'done' && typeof payload === 'object') finished = payload as unknown as TestRun
  }
  return finished
}

function RunStatus({ running, started, run }: { running: boolean; started: number; run: TestRun | null }) {
  const [now, setNow] = React.useState(Date.now())
  React.useEffect(() => {
    if (!running) return
    const timer = window.setInterval(() => setNow(Date.now()), 250)
    return () => window.clearInterval(timer)
  }, [running])
  if (running)
    return <span className="text-sm text-muted-foreground">Waiting for the answer… {formatDuration(Math.max(0, now - started))}</span>
  if (!run) return null
  const words = STATUS_WORDS[run.status] ?? STATUS_WORDS.failure
  return (
    <span role="status" className="flex flex-wrap items-center gap-2 text-sm">
      <Badge tone={words.tone}>{words.label}</Badge>
      in {formatDuration(run.duration_ms)}
      {run.tokens_in + run.tokens_out > 0 &&
        ` · ${formatNumber(run.tokens_in)} tokens in, ${formatNumber(run.tokens_out)} out`}
    </span>
  )
}

interface Passage {
  content?: string
  score?: number
  document_name?: string
  dataset_name?: string
}

function Output({ type, text, streaming }: { type: string; text: string; streaming: boolean }) {
  if (type === 'retriever' && !streaming) {
    let passages: Passage[] | null = null
    try {
      passages = JSON.parse(text) as Passage[]
    } catch {
      passages = null
    }
    if (Array.isArray(passages)) {
      if (passages.length === 0) return <p className="text-sm">Nothing matched. Try other words.</p>
      return (
        <ol className="grid gap-3">
          {passages.map((passage, index) => (
            <li key={index} className="rounded-md bg-muted p-3 text-sm">
              <p className="mb-1 font-medium">
                {passage.document_name || 'Passage'}{' '}
                {typeof passage.score === 'number' && (
                  <span className="font-normal text-muted-foreground">match {Math.round(passage.score * 100)}%</span>
                )}
              </p>
              <p className="whitespace-pre-wrap">{passage.content}</p>
            </li>
          ))}
        </ol>
      )
    }
  }
  let shown = text
  if (type !== 'agent') {
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2)
    } catch {
      shown = text
    }
  }
  return (
    <div className="whitespace-pre-wrap break-words text-sm" aria-busy={streaming}>
      {shown}
      {streaming && <span className="ml-0.5 inline-block h-4 w-2 animate-pulse bg-slate-400 align-middle" aria-hidden="true" />}
    </div>
  )
}

function PairsEditor({ pairs, onChange, agentType }: { pairs: Pair[]; onChange: (pairs: Pair[]) => void; agentType: string }) {
  const set = (index: number, change: Partial<Pair>) => onChange(pairs.map((p, i) => (i === index ? { ...p, ...change } : p)))
  const title = agentType === 'agent' ? 'Inputs for this test' : 'Inputs'
  return (
    <fieldset className="grid gap-2">
      <legend className="mb-1 text-sm font-medium">{title}</legend>
      {pairs.length === 0 && <p className="text-sm text-muted-foreground">None. Add the inputs it expects.</p>}
      {pairs.map((pair, index) => (
        <div key={index} className="grid items-end gap-2 md:grid-cols-[1fr_2fr_auto]">
          <Field id={`test-input-${index}-key`} label={`Input ${index + 1} name`}>
            {(control) => <Input value={pair.key} onChange={(e) => set(index, { key: e.target.value })} {...control} />}
          </Field>
          <Field id={`test-input-${index}-value`} label={`Input ${index + 1} value`}>
            {(control) => <Input value={pair.value} onChange={(e) => set(index, { value: e.target.value })} {...control} />}
          </Field>
          <Button variant="ghost" size="icon" onClick={() => onChange(pairs.filter((_, i) => i !== index))}>
            <Trash2 aria-hidden="true" />
            <span className="sr-only">Remove input {index + 1}</span>
          </Button>
        </div>
      ))}
      <div>
        <Button variant="outline" size="sm" onClick={() => onChange([...pairs, { key: '', value: '' }])}>
          <Plus aria-hidden="true" />
          Add an input
        </Button>
      </div>
    </fieldset>
  )
}

/** Earlier tests of a configuration, newest first. */
export function TestHistory({ agentId }: { agentId: number }) {
  const runs = useQuery({
    queryKey: testRunsKey(agentId),
    queryFn: () =>
      call(
        api.GET('/api/v1/agent-configs/{config_id}/test-runs', {
          params: { path: { config_id: agentId }, query: { limit: 20 } },
        }),
      ),
  })
  return (
    <Card>
      <CardHeader>
        <CardTitle>Earlier tests</CardTitle>
        <CardDescription>The last 20, newest first.</CardDescription>
      </CardHeader>
      <CardContent>
        {runs.isError && <Problem error={runs.error} title="Could not load earlier tests" />}
        {runs.data && runs.data.items.length === 0 && <p className="text-sm text-muted-foreground">No tests yet.</p>}
        {runs.data && runs.data.items.length > 0 && (
          <ul className="grid gap-2">
            {runs.data.items.map((item) => {
              const words = STATUS_WORDS[item.status] ?? STATUS_WORDS.failure
              const asked = String(item.test_input.query ?? JSON.stringify(item.test_input.inputs ?? {}))
              return (
                <li key={item.id} className="rounded-md border border-border">
                  <details>
                    <summary className="flex cursor-pointer flex-wrap items-center gap-2 p-3 text-sm">
                      <Badge tone={words.tone}>{words.label}</Badge>
                      <span className="min-w-0 flex-1 truncate">{asked}</span>
                      <span className="text-muted-foreground">
                        {formatDuration(item.duration_ms)} · {formatRelative(item.timestamp)}
                      </span>
                    </summary>
                    <div className="grid gap-2 border-t border-border p-3 text-sm">
                      {item.error && <p className="text-destructive">{item.error}</p>}
                      <p className="whitespace-pre-wrap break-words">{item.test_output || '(no answer)'}</p>
                      <p className="text-muted-foreground">
                        {formatNumber(item.tokens_in)} tokens in, {formatNumber(item.tokens_out)} out
                      </p>
                    </div>
                  </details>
                </li>
              )
            })}
          </ul>
        )}
      </CardContent>
    </Card>
  )
}
