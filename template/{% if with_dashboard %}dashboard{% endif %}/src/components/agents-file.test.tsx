import { screen, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { agent, fakeBackend, json } from '@/test/backend'
import { renderApp } from '@/test/render'

const list = () => ({ items: [agent()], total: 1, limit: 25, offset: 0 })
const FILE = { kind: 'agent-configs', version: 1, app_keys: 'omitted', configs: [{ name: 'Support answers', description: 'New words' }] }

function upload(name: string, text: string) {
  const input = screen.getByLabelText('Agents file to import') as HTMLInputElement
  return { input, file: new File([text], name, { type: 'application/json' }) }
}

describe('agents as a file', () => {
  it('shows what an import changes, and imports only once confirmed', async () => {
    const imports: { dryRun: string | null; body: unknown }[] = []
    const backend = fakeBackend()
      .on('GET /api/v1/agent-configs', list)
      .on('POST /api/v1/agent-configs/import', async (request) => {
        const dryRun = new URL(request.url).searchParams.get('dry_run')
        imports.push({ dryRun, body: await request.json() })
        return { dry_run: dryRun === 'true', changes: [{ name: 'Support answers', action: 'update', fields: ['description'], note: '' }, { name: 'Sales', action: 'create', fields: ['name', 'app_key'], note: '' }] }
      })
    const { user } = renderApp('/agents', backend, 'configurator')
    await screen.findByRole('table')
    const { input, file } = upload('agents.json', JSON.stringify(FILE))
    await user.upload(input, file)

    const dialog = await screen.findByRole('dialog', { name: 'Import these agents?' })
    const changes = within(dialog).getByRole('list', { name: 'What the import changes' })
    expect(changes).toHaveTextContent('Support answers: Changed: Description')
    expect(changes).toHaveTextContent('Sales: Added')
    expect(imports).toEqual([{ dryRun: 'true', body: FILE }])

    await user.click(within(dialog).getByRole('button', { name: 'Import' }))
    expect(await screen.findByText('2 agents were imported.')).toBeInTheDocument()
    expect(imports.map((item) => item.dryRun)).toEqual(['true', null])
  })

  it('says what to fix in a refused file, and imports nothing', async () => {
    const backend = fakeBackend()
      .on('GET /api/v1/agent-configs', list)
      .on('POST /api/v1/agent-configs/import', () =>
        json(
          {
            error: {
              code: 'invalid_request',
              message: 'Nothing was changed: 1 problem(s) to fix first.',
              problems: ["'Sales' does not exist here yet and has no app key"],
            },
          },
          422,
        ),
      )
    const { user } = renderApp('/agents', backend, 'admin')
    await screen.findByRole('table')
    const { input, file } = upload('agents.json', JSON.stringify(FILE))
    await user.upload(input, file)

    expect(await screen.findByText('The file was not imported; nothing changed')).toBeInTheDocument()
    expect(screen.getByRole('list', { name: 'What to fix in the file' })).toHaveTextContent("'Sales' does not exist here yet")
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()

    const { file: notJson } = upload('notes.txt', 'name: Sales')
    await user.upload(input, notJson)
    expect(await screen.findByText('notes.txt is not a file exported from the Agents page.')).toBeInTheDocument()
  })

  it('downloads the export as the server wrote it', async () => {
    const text = '{\n  "kind": "agent-configs"\n}\n'
    const backend = fakeBackend()
      .on('GET /api/v1/agent-configs', list)
      .on('GET /api/v1/agent-configs/export', () => new Response(text, { headers: { 'Content-Type': 'application/json' } }))
    const saved: Blob[] = []
    URL.createObjectURL = vi.fn((blob: Blob) => (saved.push(blob), 'blob:agents'))
    URL.revokeObjectURL = vi.fn()
    const clicked = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      expect(this.download).toBe('agent-configs.json')
    })
    const { user } = renderApp('/agents', backend, 'configurator')
    await screen.findByRole('table')
    await user.click(screen.getByRole('button', { name: 'Export' }))
    await vi.waitFor(() => expect(clicked).toHaveBeenCalledOnce())
    expect(await saved[0].text()).toBe(text)
    clicked.mockRestore()
  })

  it('is not offered to viewers', async () => {
    const backend = fakeBackend().on('GET /api/v1/agent-configs', list)
    renderApp('/agents', backend, 'viewer')
    await screen.findByRole('table')
    expect(screen.queryByRole('button', { name: 'Export' })).not.toBeInTheDocument()
    expect(screen.queryByLabelText('Agents file to import')).not.toBeInTheDocument()
  })
})
