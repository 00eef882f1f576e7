/** Read a server-sent event stream (as returned by `api.*` with `parseAs: 'stream'`). */

export interface StreamEvent {
  event: string
  data: string
  id?: string
}

/** Parse the `text/event-stream` format: blocks of `field: value` lines, blank-line separated. */
export async function* readEvents(stream: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      const blocks = buffer.split(/\r?\n\r?\n/)
      buffer = blocks.pop() ?? ''
      for (const block of blocks) {
        const parsed = parseBlock(block)
        if (parsed) yield parsed
      }
    }
    const last = parseBlock(buffer + decoder.decode())
    if (last) yield last
  } finally {
    reader.releaseLock()
  }
}

function parseBlock(block: string): StreamEvent | null {
  let event = 'message'
  let id: string | undefined
  const data: string[] = []
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') event = value
    else if (field === 'data') data.push(value)
    else if (field === 'id') id = value
  }
  if (data.length === 0 && event === 'message') return null
  return { event, data: data.join('\n'), id }
}

/** The JSON payload of an event, or the raw text when it is not JSON. */
export function eventPayload<T = unknown>(event: StreamEvent): T | string {
  try {
    return JSON.parse(event.data) as T
  } catch {
    return event.data
  }
}
