import * as React from 'react'
import { type Permission, useSession } from '@/auth/session'

/**
 * An action the role may not take stays visible but disabled, with the reason beside it.
 * The backend refuses it anyway; this only explains.
 */
export function Restricted({
  permission,
  children,
}: {
  permission: Permission
  children: (allowed: { disabled: boolean; 'aria-describedby'?: string }) => React.ReactNode
}) {
  const { reasonIfNot } = useSession()
  const reason = reasonIfNot(permission)
  const id = React.useId()
  if (!reason) return <>{children({ disabled: false })}</>
  return (
    <div className="flex flex-col items-end gap-1">
      {children({ disabled: true, 'aria-describedby': id })}
      <p id={id} className="max-w-64 text-right text-xs text-muted-foreground">
        {reason}
      </p>
    </div>
  )
}
