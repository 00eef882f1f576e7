import { describe, expect, it } from 'vitest'
import { eventPayload, readEvents } from './events'

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk))
      controller.close()
    },
  })
}

async function collect(stream: ReadableStream<Uint8Array>) {
  const events = []
  for await (const event of readEvents(stream)) events.push(event)
  return events
}

describe('readEvents', () => {
  it('reads events split anywhere across chunks', async () => {
    const events = await collect(
      streamOf('retry: 5000\n\nevent: us', 'age\ndata: {"requests":', ' 3}\n\n', 'data: plain\n\n'),
    )
    expect(events).toEqual([
      { event: 'usage', data: '{"requests": 3}', id: undefined },
      { event: 'message', data: 'plain', id: undefined },
    ])
    expect(eventPayload(events[0])).toEqual({ requests: 3 })
    expect(eventPayload(events[1])).toBe('plain')
  })

  it('joins multi-line data, skips comments and reads a last event without a blank line', async () => {
    const events = await collect(streamOf(': keep-alive\n\nevent: delta\ndata: a\ndata: b\r\n\r\nevent: end\ndata: {}'))
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['delta', 'a\nb'],
      ['end', '{}'],
    ])
  })
})
