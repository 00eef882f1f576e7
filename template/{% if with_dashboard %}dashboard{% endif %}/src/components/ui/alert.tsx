import { cva, type VariantProps } from 'class-variance-authority'
import type * as React from 'react'
import { cn } from '@/lib/cn'

const alertVariants = cva('rounded-lg border p-4 text-sm [&_a]:underline', {
  variants: {
    tone: {
      info: 'border-blue-300 bg-info-background text-blue-950',
      success: 'border-green-300 bg-success-background text-green-950',
      warning: 'border-amber-300 bg-warning-background text-amber-950',
      danger: 'border-red-300 bg-danger-background text-red-950',
    },
  },
  defaultVariants: { tone: 'info' },
})

export interface AlertProps
  extends React.HTMLAttributes<HTMLDivElement>,
    VariantProps<typeof alertVariants> {
  title?: string
}

/** A message box. Errors are announced (`role="alert"`); other tones are polite status. */
export function Alert({ className, tone, title, children, ...props }: AlertProps) {
  return (
    <div
      role={tone === 'danger' ? 'alert' : 'status'}
      className={cn(alertVariants({ tone }), className)}
      {...props}
    >
      {title && <p className="mb-1 font-semibold">{title}</p>}
      <div>{children}</div>
    </div>
  )
}
