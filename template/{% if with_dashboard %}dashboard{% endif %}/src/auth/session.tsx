import { useQuery, useQueryClient } from '@tanstack/react-query'
import * as React from 'react'
import { api, call, currentToken, endSession, onSessionChange, startSession, type Schemas } from '@/api/client'
import { roleLabel } from '@/lib/words'

export type Me = Schemas['Me']
export type Permission = 'users:manage' | 'agents:configure' | 'agents:test' | 'analytics:read' | 'read'

interface Session {
  user: Me | null
  loading: boolean
  signIn: (username: string, password: string) => Promise<void>
  signOut: () => void
  can: (permission: Permission) => boolean
  /** Why the signed-in role may not do this, in a sentence; null when it may. */
  reasonIfNot: (permission: Permission) => string | null
}

const SessionContext = React.createContext<Session | null>(null)

const WHO_MAY: Record<Permission, string> = {
  'users:manage': 'Only admins can manage people.',
  'agents:configure': 'Only admins and configurators can change agents.',
  'agents:test': 'Only admins and configurators can run tests.',
  'analytics:read': 'Your role cannot see usage.',
  read: 'Your role cannot see this.',
}

function useToken(): string | null {
  return React.useSyncExternalStore(onSessionChange, currentToken, () => null)
}

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const token = useToken()
  const queryClient = useQueryClient()
  const me = useQuery({
    queryKey: ['me', token],
    queryFn: () => call(api.GET('/api/v1/auth/me')),
    enabled: token !== null,
    staleTime: 60_000,
    retry: false,
  })

  const value = React.useMemo<Session>(() => {
    const user = token ? (me.data ?? null) : null
    const can = (permission: Permission) => Boolean(user?.permissions.includes(permission))
    return {
      user,
      loading: token !== null && me.isPending,
      signIn: async (username, password) => {
        const result = await call(
          api.POST('/api/v1/auth/login', {
            body: { username, password, scope: '' },
            bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          }),
        )
        queryClient.clear()
        startSession(result.access_token, result.expires_in)
      },
      signOut: () => {
        endSession()
        queryClient.clear()
      },
      can,
      reasonIfNot: (permission) => {
        if (can(permission)) return null
        const role = user ? ` You are signed in as ${roleLabel(user.role).toLowerCase()}.` : ''
        return `${WHO_MAY[permission]}${role}`
      },
    }
  }, [token, me.data, me.isPending, queryClient])

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}

export function useSession(): Session {
  const session = React.useContext(SessionContext)
  if (!session) throw new Error('useSession needs a SessionProvider')
  return session
}
