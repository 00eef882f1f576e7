import { screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { fakeBackend } from '@/test/backend'
import { renderApp } from '@/test/render'

describe('runbooks', () => {
  it('lists the runbooks and shows one', async () => {
    const backend = fakeBackend()
      .on('GET /api/v1/runbooks', () => ({
        items: [{ slug: 'agent-paused', title: 'An agent is paused', summary: 'The safety switch stopped calls.' }],
      }))
      .on('GET /api/v1/runbooks/{slug}', () => ({
        slug: 'agent-paused',
        title: 'An agent is paused',
        summary: 'The safety switch stopped calls.',
        markdown: '# An agent is paused\n\n## Check\n\nRun a test.',
        html: '<h1>An agent is paused</h1>\n<h2>Check</h2>\n<p>Run a test.</p>',
      }))
    const { user } = renderApp('/runbooks', backend, 'viewer')
    await user.click(await screen.findByRole('link', { name: 'An agent is paused' }))
    expect(await screen.findByRole('heading', { level: 1, name: 'An agent is paused' })).toBeInTheDocument()
    expect(screen.getAllByRole('heading', { level: 1 })).toHaveLength(1)
    expect(screen.getByRole('heading', { level: 2, name: 'Check' })).toBeInTheDocument()
    expect(screen.getByText('Run a test.')).toBeInTheDocument()
  })
})
