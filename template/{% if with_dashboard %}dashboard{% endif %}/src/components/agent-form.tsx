import { zodResolver } from '@hookform/resolvers/zod'
import { Plus, Trash2 } from 'lucide-react'
import * as React from 'react'
import { Controller, useFieldArray, useForm } from 'react-hook-form'
import { z } from 'zod'
import { ApiError, type Schemas } from '@/api/client'
import { AppKeyCheck } from '@/components/app-key-check'
import { Problem } from '@/components/problem'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { Label } from '@/components/ui/label'
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from '@/components/ui/select'
import { Switch } from '@/components/ui/switch'
import { Textarea } from '@/components/ui/textarea'
import { CONFIG_TYPES, type ConfigType } from '@/lib/words'

type AgentConfigRead = Schemas['AgentConfigRead']
export type AgentConfigInput = Schemas['AgentConfigCreate']

const NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$/
const number = (message: string) => z.number({ error: message })

export const agentFormSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, 'Give it a name people will recognise.')
      .max(100, 'Keep the name under 100 characters.')
      .regex(NAME, 'Use letters, digits, spaces, "_", "." or "-", starting with a letter or digit.')
      .refine((value) => !/^\d+$/.test(value), 'A name cannot be only digits.'),
    description: z.string().max(2000, 'Keep the description under 2000 characters.'),
    config_type: z.enum(['agent', 'workflow', 'retriever', 'tool']),
    app_key: z.string().trim().min(1, 'Paste the app key from the HiAgent platform.').max(255),
    workspace_id: z.string().trim().max(255),
    workflow_id: z.string().trim().max(255),
    dataset_ids: z.string(),
    tool_id: z.string().trim().max(255),
    variables: z.array(
      z.object({
        key: z.string().trim().min(1, 'Name this input.').max(100),
        value: z.string().max(10_000),
      }),
    ),
    enabled: z.boolean(),
    max_concurrency: number('Enter a whole number from 1 to 1000.').int('Enter a whole number.').min(1, 'At least 1.').max(1000, 'At most 1000.'),
    first_token_timeout_s: number('Enter a number of seconds.').gt(0, 'More than 0 seconds.').max(600, 'At most 600 seconds.'),
    total_timeout_s: number('Enter a number of seconds.').gt(0, 'More than 0 seconds.').max(3600, 'At most 3600 seconds.'),
  })
  .superRefine((values, ctx) => {
    if (values.config_type === 'workflow' && !values.workflow_id)
      ctx.addIssue({ code: 'custom', path: ['workflow_id'], message: 'A workflow needs its workflow ID.' })
    if (values.config_type === 'tool' && !values.tool_id)
      ctx.addIssue({ code: 'custom', path: ['tool_id'], message: 'A tool needs its tool ID.' })
    if (values.config_type === 'retriever' && splitIds(values.dataset_ids).length === 0)
      ctx.addIssue({ code: 'custom', path: ['dataset_ids'], message: 'A knowledge search needs at least one knowledge base ID.' })
    const keys = values.variables.map((v) => v.key.trim())
    keys.forEach((key, index) => {
      if (key && keys.indexOf(key) !== index)
        ctx.addIssue({ code: 'custom', path: ['variables', index, 'key'], message: 'This input is already listed.' })
    })
  })

export type AgentFormValues = z.infer<typeof agentFormSchema>

function splitIds(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((id) => id.trim())
    .filter(Boolean)
}

export function toFormValues(config?: AgentConfigRead): AgentFormValues {
  return {
    name: config?.name ?? '',
    description: config?.description ?? '',
    config_type: config?.config_type ?? 'agent',
    app_key: config?.app_key ?? '',
    workspace_id: config?.workspace_id ?? '',
    workflow_id: config?.workflow_id ?? '',
    dataset_ids: (config?.dataset_ids ?? []).join(', '),
    tool_id: config?.tool_id ?? '',
    variables: Object.entries(config?.variables ?? {}).map(([key, value]) => ({ key, value })),
    enabled: config?.enabled ?? true,
    max_concurrency: config?.max_concurrency ?? 8,
    first_token_timeout_s: config?.first_token_timeout_s ?? 30,
    total_timeout_s: config?.total_timeout_s ?? 120,
  }
}

/** The form's values as the API takes them (fields that do not apply to the type are cleared). */
export function toPayload(values: AgentFormValues): AgentConfigInput {
  const type = values.config_type
  return {
    name: values.name.trim(),
    description: values.description.trim(),
    config_type: type,
    app_key: values.app_key.trim(),
    workspace_id: type === 'agent' ? null : values.workspace_id || null,
    workflow_id: type === 'workflow' ? values.workflow_id || null : null,
    dataset_ids: type === 'retriever' ? splitIds(values.dataset_ids) : [],
    tool_id: type === 'tool' ? values.tool_id || null : null,
    variables: Object.fromEntries(values.variables.map((v) => [v.key.trim(), v.value])),
    enabled: values.enabled,
    max_concurrency: values.max_concurrency,
    first_token_timeout_s: values.first_token_timeout_s,
    total_timeout_s: values.total_timeout_s,
  }
}

interface AgentFormProps {
  initial?: AgentConfigRead
  readOnly?: boolean
  submitLabel: string
  onSubmit: (payload: AgentConfigInput) => Promise<void>
  /** Extra buttons beside "Save" (for example "Test before saving"). */
  extraActions?: (form: FormActions) => React.ReactNode
  /** The form element's id, for submit buttons placed outside it. */
  id?: string
  /** Shown below the form (outside it, so it may hold forms of its own). */
  children?: React.ReactNode
}

export interface FormActions {
  /** The checked values, or null (with the mistakes shown) when something needs fixing. */
  values: () => AgentConfigInput | null
  /** Show a failed call's problem on the form, as a failed save would. */
  showError: (error: unknown) => void
  busy: boolean
}

export function AgentForm({ initial, readOnly = false, submitLabel, onSubmit, extraActions, id, children }: AgentFormProps) {
  const form = useForm<AgentFormValues>({
    resolver: zodResolver(agentFormSchema),
    defaultValues: toFormValues(initial),
    mode: 'onTouched',
  })
  const variables = useFieldArray({ control: form.control, name: 'variables' })
  const [failure, setFailure] = React.useState<unknown>(null)
  const [suggestion, setSuggestion] = React.useState<string | null>(null)
  const { errors, isSubmitting } = form.formState
  const type = form.watch('config_type') as ConfigType

  const showError = React.useCallback(
    (error: unknown) => {
      const values = form.getValues()
      if (error instanceof ApiError) {
        const fields = error.fieldErrors()
        const known = Object.keys(fields).filter((field) => field in values)
        for (const field of known) form.setError(field as keyof AgentFormValues, { message: fields[field] })
        if (error.status === 409 && typeof error.details.suggested_name === 'string') {
          form.setError('name', { message: `Another agent is already called “${values.name.trim()}”.` })
          setSuggestion(error.details.suggested_name)
          form.setFocus('name')
          return
        }
        if (known.length > 0) {
          form.setFocus(known[0] as keyof AgentFormValues)
          return
        }
      }
      setFailure(error)
    },
    [form],
  )

  const submit = form.handleSubmit(async (values) => {
    setFailure(null)
    setSuggestion(null)
    try {
      await onSubmit(toPayload(values))
    } catch (error) {
      showError(error)
    }
  })

  const checkedValues = React.useCallback((): AgentConfigInput | null => {
    setFailure(null)
    setSuggestion(null)
    const parsed = agentFormSchema.safeParse(form.getValues())
    if (!parsed.success) {
      void form.trigger()
      return null
    }
    return toPayload(parsed.data)
  }, [form])

  return (
    <>
    <form id={id} onSubmit={submit} noValidate aria-label={submitLabel} className="grid gap-6">
      <fieldset disabled={readOnly || isSubmitting} className="grid gap-6">
        <Card>
          <CardHeader>
            <CardTitle>What it is</CardTitle>
            <CardDescription>The name apps use to call it, and what people should know about it.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4 md:grid-cols-2">
            <Field id="name" label="Name" error={errors.name?.message} hint="For example: Support answers">
              {(control) => <Input {...control} {...form.register('name')} />}
            </Field>
            <Field id="config_type" label="Type" error={errors.config_type?.message} hint={CONFIG_TYPES.find((t) => t.value === type)?.description}>
              {(control) => (
                <Controller
                  control={form.control}
                  name="config_type"
                  render={({ field }) => (
                    <Select value={field.value} onValueChange={field.onChange} disabled={readOnly}>
                      <SelectTrigger {...control} onBlur={field.onBlur}>
                        <SelectValue />
                      </SelectTrigger>
                      <SelectContent>
                        {CONFIG_TYPES.map((option) => (
                          <SelectItem key={option.value} value={option.value}>
                            {option.label}
                          </SelectItem>
                        ))}
                      </SelectContent>
                    </Select>
                  )}
                />
              )}
            </Field>
            <Field id="description" label="Description" error={errors.description?.message} className="md:col-span-2" hint="Optional. What it is good at, and who looks after it.">
              {(control) => <Textarea rows={3} {...control} {...form.register('description')} />}
            </Field>
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>Where it is on HiAgent</CardTitle>
            <CardDescription>Copy these from the HiAgent platform, where the agent was created.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4 md:grid-cols-2">
            <Field id="app_key" label="App key" error={errors.app_key?.message} hint="On the HiAgent platform, on the app's page." className="md:col-span-2">
              {(control) => <Input autoComplete="off" spellCheck={false} {...control} {...form.register('app_key')} />}
            </Field>
            {!readOnly && <AppKeyCheck appKey={() => form.getValues('app_key')} />}
            {type !== 'agent' && (
              <Field id="workspace_id" label="Workspace ID" error={errors.workspace_id?.message} hint="Optional. The workspace that holds it.">
                {(control) => <Input spellCheck={false} {...control} {...form.register('workspace_id')} />}
              </Field>
            )}
            {type === 'workflow' && (
              <Field id="workflow_id" label="Workflow ID" error={errors.workflow_id?.message}>
                {(control) => <Input spellCheck={false} {...control} {...form.register('workflow_id')} />}
              </Field>
            )}
            {type === 'tool' && (
              <Field id="tool_id" label="Tool ID" error={errors.tool_id?.message}>
                {(control) => <Input spellCheck={false} {...control} {...form.register('tool_id')} />}
              </Field>
            )}
            {type === 'retriever' && (
              <Field id="dataset_ids" label="Knowledge base IDs" error={errors.dataset_ids?.message} hint="One or more, separated by commas.">
                {(control) => <Input spellCheck={false} {...control} {...form.register('dataset_ids')} />}
              </Field>
            )}
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle as="h2">Default inputs</CardTitle>
            <CardDescription>Values sent with every request unless the app gives its own. Optional.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-3">
            {variables.fields.length === 0 && <p className="text-sm text-muted-foreground">No default inputs.</p>}
            {variables.fields.map((item, index) => (
              <div key={item.id} className="grid items-start gap-3 md:grid-cols-[1fr_2fr_auto]">
                <Field id={`variables-${index}-key`} label={`Input ${index + 1} name`} error={errors.variables?.[index]?.key?.message}>
                  {(control) => <Input spellCheck={false} {...control} {...form.register(`variables.${index}.key`)} />}
                </Field>
                <Field id={`variables-${index}-value`} label={`Input ${index + 1} value`} error={errors.variables?.[index]?.value?.message}>
                  {(control) => <Input {...control} {...form.register(`variables.${index}.value`)} />}
                </Field>
                <Button variant="ghost" size="icon" className="md:mt-6" onClick={() => variables.remove(index)}>
                  <Trash2 aria-hidden="true" />
                  <span className="sr-only">Remove input {index + 1}</span>
                </Button>
              </div>
            ))}
            <div>
              <Button variant="outline" size="sm" onClick={() => variables.append({ key: '', value: '' })}>
                <Plus aria-hidden="true" />
                Add an input
              </Button>
            </div>
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>Availability and limits</CardTitle>
            <CardDescription>The defaults suit most agents.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4 md:grid-cols-3">
            <div className="flex items-center gap-3 md:col-span-3">
              <Controller
                control={form.control}
                name="enabled"
                render={({ field }) => (
                  <Switch id="enabled" checked={field.value} onCheckedChange={field.onChange} aria-describedby="enabled-hint" />
                )}
              />
              <div>
                <Label htmlFor="enabled">Available to apps</Label>
                <p id="enabled-hint" className="text-sm text-muted-foreground">
                  When off, apps get a clear "turned off" answer instead of a reply.
                </p>
              </div>
            </div>
            <Field id="max_concurrency" label="Calls at the same time" error={errors.max_concurrency?.message} hint="More wait in line.">
              {(control) => <Input type="number" inputMode="numeric" min={1} max={1000} {...control} {...form.register('max_concurrency', { valueAsNumber: true })} />}
            </Field>
            <Field id="first_token_timeout_s" label="Wait for the first words (seconds)" error={errors.first_token_timeout_s?.message}>
              {(control) => <Input type="number" inputMode="decimal" min={1} max={600} step="any" {...control} {...form.register('first_token_timeout_s', { valueAsNumber: true })} />}
            </Field>
            <Field id="total_timeout_s" label="Wait for the whole answer (seconds)" error={errors.total_timeout_s?.message}>
              {(control) => <Input type="number" inputMode="decimal" min={1} max={3600} step="any" {...control} {...form.register('total_timeout_s', { valueAsNumber: true })} />}
            </Field>
          </CardContent>
        </Card>
      </fieldset>

      {suggestion && (
        <div role="alert" className="flex flex-wrap items-center gap-3 rounded-lg border border-amber-300 bg-warning-background p-4 text-sm text-amber-950">
          <span>That name is taken. “{suggestion}” is free.</span>
          <Button
            size="sm"
            variant="outline"
            onClick={() => {
              form.setValue('name', suggestion, { shouldValidate: true, shouldDirty: true })
              setSuggestion(null)
            }}
          >
            Use “{suggestion}”
          </Button>
        </div>
      )}
      {failure !== null && <Problem error={failure} title="Could not save" />}
      {!readOnly && (
        <div className="flex flex-wrap justify-end gap-2">
          {extraActions?.({ values: checkedValues, showError, busy: isSubmitting })}
          <Button type="submit" disabled={isSubmitting}>
            {isSubmitting ? 'Saving…' : submitLabel}
          </Button>
        </div>
      )}
    </form>
    {children}
    </>
  )
}
