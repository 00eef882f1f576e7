import { screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { fakeBackend, json, me } from '@/test/backend'
import { renderApp } from '@/test/render'

describe('people', () => {
  it('lists people and adds one', async () => {
    const people = [me('admin'), { ...me('viewer'), id: 5 }]
    const backend = fakeBackend()
      .on('GET /api/v1/users', () => ({ items: people, total: people.length }))
      .on('POST /api/v1/users', async (request) => {
        const body = (await request.json()) as { username: string }
        if (body.username === 'taken')
          return json({ error: { code: 'conflict', message: 'That username is taken.', field: 'username' } }, 409)
        const created = { ...me('viewer'), id: 6, username: body.username }
        people.push(created)
        return json(created, 201)
      })
    const { user } = renderApp('/users', backend)

    const table = await screen.findByRole('table')
    expect(within(table).getAllByRole('row')).toHaveLength(3)
    // Nobody can lock themselves out.
    expect(screen.getByRole('button', { name: 'Deactivate admin' })).toBeDisabled()

    await user.click(screen.getByRole('button', { name: 'Add person' }))
    const dialog = await screen.findByRole('dialog')
    await user.type(within(dialog).getByLabelText('Username'), 'taken')
    await user.type(within(dialog).getByLabelText('E-mail'), 'new@example.com')
    await user.type(within(dialog).getByLabelText('First password'), 'long-enough-1')
    await user.click(within(dialog).getByRole('button', { name: 'Add person' }))
    expect(await within(dialog).findByText('That username is taken.')).toBeInTheDocument()

    await user.clear(within(dialog).getByLabelText('Username'))
    await user.type(within(dialog).getByLabelText('Username'), 'newbie')
    await user.click(within(dialog).getByRole('button', { name: 'Add person' }))
    expect(await screen.findByText(/added newbie/i)).toBeInTheDocument()
    expect(await screen.findByText('newbie')).toBeInTheDocument()
  })
})
