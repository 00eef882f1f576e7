import { useQuery } from '@tanstack/react-query'
import { Blocks, BookOpen, Bot, Calculator, ChartLine, FlaskConical, LogOut, Users } from 'lucide-react'
import type * as React from 'react'
import { NavLink, Outlet } from 'react-router'
import { api, call, type Schemas } from '@/api/client'
import { type Permission, useSession } from '@/auth/session'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import { cn } from '@/lib/cn'
import { productName } from '@/lib/product'
import { roleLabel } from '@/lib/words'

type IconComponent = React.ComponentType<{ className?: string; 'aria-hidden'?: boolean }>

interface NavItem {
  to: string
  label: string
  icon: IconComponent
  permission: Permission
}

export type MenuLink = Schemas['MenuLink']

/** The built-in menu; an item shows only to roles that may use it. Modules add more. */
export const NAV_ITEMS: NavItem[] = [
  { to: '/agents', label: 'Agents', icon: Bot, permission: 'read' },
  { to: '/analytics', label: 'Usage', icon: ChartLine, permission: 'analytics:read' },
  { to: '/runbooks', label: 'Runbooks', icon: BookOpen, permission: 'read' },
  { to: '/capacity', label: 'Capacity', icon: Calculator, permission: 'read' },
  { to: '/users', label: 'People', icon: Users, permission: 'users:manage' },
]

const BUILT_IN_PATHS = new Set(NAV_ITEMS.map((item) => item.to))

/** Icons of links the template's own modules declare; other modules' links get a block. */
const MODULE_ICONS: Record<string, IconComponent> = { '/experiments': FlaskConical }

/** Links the server serves itself (API, docs, other sites) leave the dashboard's router. */
function leavesTheDashboard(path: string): boolean {
  return path.startsWith('http') || path.startsWith('/api') || path.startsWith('/docs')
}

/** Menu links other modules declare in their manifests, for the signed-in role. */
function useModuleLinks(): MenuLink[] {
  const { user } = useSession()
  const menu = useQuery({
    queryKey: ['dashboard-menu', user?.id, user?.role],
    queryFn: () => call(api.GET('/api/v1/dashboard/menu')),
    enabled: user !== null,
    staleTime: 5 * 60_000,
  })
  // Until it loads, or when it fails, the built-in items are the whole menu.
  return (menu.data ?? []).filter((link) => !BUILT_IN_PATHS.has(link.path))
}

const ENTRY = 'flex items-center gap-2 rounded-md px-3 py-2 text-sm font-medium whitespace-nowrap hover:bg-muted focus-visible:outline-2 focus-visible:outline-ring'

function MenuEntry({ to, label, icon: Icon }: { to: string; label: string; icon: IconComponent }) {
  const content = (
    <>
      <Icon className="size-4" aria-hidden={true} />
      {label}
    </>
  )
  if (leavesTheDashboard(to))
    return (
      <a href={to} className={ENTRY}>
        {content}
      </a>
    )
  return (
    <NavLink to={to} className={({ isActive }) => cn(ENTRY, isActive && 'bg-info-background text-blue-900')}>
      {content}
    </NavLink>
  )
}

export function Layout() {
  const { user, can, signOut } = useSession()
  const items = NAV_ITEMS.filter((item) => can(item.permission))
  const moduleLinks = useModuleLinks()
  return (
    <div className="min-h-screen bg-slate-50">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded-md focus:bg-background focus:p-3"
      >
        Skip to main content
      </a>
      <header className="sticky top-0 z-40 border-b border-border bg-background">
        <div className="flex h-14 items-center justify-between gap-4 px-4 md:px-6">
          <p className="truncate text-lg font-semibold">{productName()}</p>
          {user && (
            <div className="flex items-center gap-3">
              <span className="hidden text-sm sm:inline">
                {user.username} <Badge tone="info">{roleLabel(user.role)}</Badge>
              </span>
              <Button variant="ghost" size="sm" onClick={signOut}>
                <LogOut aria-hidden="true" />
                Sign out
              </Button>
            </div>
          )}
        </div>
      </header>
      <div className="lg:flex">
        <nav aria-label="Main" className="border-b border-border bg-background lg:min-h-[calc(100vh-3.5rem)] lg:w-52 lg:shrink-0 lg:border-b-0 lg:border-r">
          <ul className="flex gap-1 overflow-x-auto p-2 lg:flex-col lg:p-3">
            {items.map((item) => (
              <li key={item.to}>
                <MenuEntry to={item.to} label={item.label} icon={item.icon} />
              </li>
            ))}
            {moduleLinks.map((link) => (
              <li key={`${link.module} ${link.path}`}>
                <MenuEntry to={link.path} label={link.label} icon={MODULE_ICONS[link.path] ?? Blocks} />
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1} className="min-w-0 flex-1 p-4 focus:outline-none md:p-8">
          <Outlet />
        </main>
      </div>
    </div>
  )
}
