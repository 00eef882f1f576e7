import { X } from 'lucide-react'
import * as React from 'react'
import { cn } from '@/lib/cn'

type Tone = 'success' | 'danger' | 'info'
interface Note {
  id: number
  message: string
  tone: Tone
}

const NotifyContext = React.createContext<(message: string, tone?: Tone) => void>(() => {})

/** Short confirmations ("Saved"), announced politely and gone after a few seconds. */
export function NotificationsProvider({ children }: { children: React.ReactNode }) {
  const [notes, setNotes] = React.useState<Note[]>([])
  const nextId = React.useRef(1)
  const dismiss = React.useCallback((id: number) => setNotes((all) => all.filter((n) => n.id !== id)), [])
  const notify = React.useCallback(
    (message: string, tone: Tone = 'success') => {
      const id = nextId.current++
      setNotes((all) => [...all.slice(-2), { id, message, tone }])
      window.setTimeout(() => dismiss(id), 6000)
    },
    [dismiss],
  )
  return (
    <NotifyContext.Provider value={notify}>
      {children}
      <div role="status" aria-live="polite" className="fixed bottom-4 right-4 z-[60] flex w-80 flex-col gap-2">
        {notes.map((note) => (
          <div
            key={note.id}
            className={cn(
              'flex items-start justify-between gap-3 rounded-md border p-3 text-sm shadow-md',
              note.tone === 'success' && 'border-green-300 bg-success-background text-green-950',
              note.tone === 'danger' && 'border-red-300 bg-danger-background text-red-950',
              note.tone === 'info' && 'border-blue-300 bg-info-background text-blue-950',
            )}
          >
            <span>{note.message}</span>
            <button type="button" onClick={() => dismiss(note.id)} className="rounded-sm focus-visible:outline-2 focus-visible:outline-ring">
              <X className="size-4" aria-hidden="true" />
              <span className="sr-only">Dismiss</span>
            </button>
          </div>
        ))}
      </div>
    </NotifyContext.Provider>
  )
}

export function useNotify() {
  return React.useContext(NotifyContext)
}
