import * as React from 'react'
import { api, type Schemas } from './client'
import { eventPayload, readEvents } from './events'

export type LiveSnapshot = Schemas['LiveSnapshot']
export type LiveState = 'connecting' | 'live' | 'reconnecting'

const RECONNECT_MS = 5000

/**
 * Usage over the last hour, pushed by the server when calls happen (and every few seconds).
 * Reconnects by itself; stops when the component goes away.
 */
export function useLiveUsage(agent: string | undefined, onUpdate?: (snapshot: LiveSnapshot) => void) {
  const [snapshot, setSnapshot] = React.useState<LiveSnapshot | null>(null)
  const [state, setState] = React.useState<LiveState>('connecting')
  const latest = React.useRef(onUpdate)
  latest.current = onUpdate

  React.useEffect(() => {
    const controller = new AbortController()
    let timer: number | undefined
    const connect = async () => {
      try {
        const result = await api.GET('/api/v1/analytics/live', {
          params: { query: { agent, window_minutes: 60 } },
          headers: { Accept: 'text/event-stream' },
          parseAs: 'stream',
          signal: controller.signal,
        })
        if (!result.response.ok || !result.data) throw new Error(`live usage: ${result.response.status}`)
        for await (const event of readEvents(result.data as ReadableStream<Uint8Array>)) {
          if (event.event !== 'usage') continue
          const payload = eventPayload<LiveSnapshot>(event)
          if (typeof payload !== 'object') continue
          setState('live')
          setSnapshot(payload)
          latest.current?.(payload)
        }
      } catch {
        if (controller.signal.aborted) return
      }
      if (controller.signal.aborted) return
      setState('reconnecting')
      timer = window.setTimeout(connect, RECONNECT_MS)
    }
    void connect()
    return () => {
      controller.abort()
      window.clearTimeout(timer)
    }
  }, [agent])

  return { snapshot, state }
}
