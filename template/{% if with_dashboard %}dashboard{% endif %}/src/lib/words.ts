/** The words people see for the backend's values: plain, never technical. */
import type { Schemas } from '@/api/client'

export type ConfigType = Schemas['ConfigType']
export type Role = Schemas['Role']

export const CONFIG_TYPES: { value: ConfigType; label: string; description: string }[] = [
  { value: 'agent', label: 'Agent', description: 'Holds a conversation and answers questions.' },
  { value: 'workflow', label: 'Workflow', description: 'Runs a fixed series of steps on some inputs.' },
  { value: 'retriever', label: 'Knowledge search', description: 'Finds passages in your knowledge bases.' },
  { value: 'tool', label: 'Tool', description: 'Performs one action with the inputs it is given.' },
]

export function typeLabel(type: string): string {
  return CONFIG_TYPES.find((item) => item.value === type)?.label ?? type
}

export const ROLES: { value: Role; label: string; description: string }[] = [
  { value: 'admin', label: 'Admin', description: 'Everything, including managing people.' },
  { value: 'configurator', label: 'Configurator', description: 'Adds, changes and tests agents; sees usage.' },
  { value: 'viewer', label: 'Viewer', description: 'Sees agents and usage; changes nothing.' },
]

export function roleLabel(role: string): string {
  return ROLES.find((item) => item.value === role)?.label ?? role
}

/** What each editable setting is called on screen (also used to describe changes). */
export const FIELD_LABELS: Record<string, string> = {
  name: 'Name',
  description: 'Description',
  config_type: 'Type',
  app_key: 'App key',
  workspace_id: 'Workspace ID',
  workflow_id: 'Workflow ID',
  dataset_ids: 'Knowledge base IDs',
  tool_id: 'Tool ID',
  variables: 'Default inputs',
  enabled: 'Available to apps',
  max_concurrency: 'Calls at the same time',
  first_token_timeout_s: 'Wait for the first words',
  total_timeout_s: 'Wait for the whole answer',
}

export function fieldLabel(field: string): string {
  return FIELD_LABELS[field] ?? field.replace(/_/g, ' ')
}

/** A stored value written for people: "On", "30 s", "a, b", "(empty)". */
export function describeValue(field: string, value: unknown): string {
  if (value === null || value === undefined || value === '') return '(empty)'
  if (typeof value === 'boolean') return value ? 'On' : 'Off'
  if (field === 'config_type') return typeLabel(String(value))
  if (field.endsWith('_s') && typeof value === 'number') return `${value} s`
  if (Array.isArray(value)) return value.length ? value.join(', ') : '(empty)'
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
    return entries.length ? entries.map(([k, v]) => `${k} = ${String(v)}`).join('; ') : '(empty)'
  }
  return String(value)
}

export const CHANGE_LABELS: Record<string, string> = {
  created: 'Created',
  updated: 'Changed',
  restored: 'Restored an earlier version',
  imported: 'Imported from a file',
  seeded: 'Set by the server setup',
}
