import { zodResolver } from '@hookform/resolvers/zod'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { UserPlus } from 'lucide-react'
import * as React from 'react'
import { Controller, useForm } from 'react-hook-form'
import { z } from 'zod'
import { ApiError, api, call, type Schemas } from '@/api/client'
import { useSession } from '@/auth/session'
import { useNotify } from '@/components/notifications'
import { PageHeader } from '@/components/page'
import { Problem } from '@/components/problem'
import { Badge } from '@/components/ui/badge'
import { Button } from '@/components/ui/button'
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from '@/components/ui/select'
import { Skeleton } from '@/components/ui/skeleton'
import { Table, TableBody, TableCaption, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table'
import { formatRelative } from '@/lib/format'
import { ROLES, type Role, roleLabel } from '@/lib/words'

type User = Schemas['UserRead']

export default function UsersPage() {
  const { user: me } = useSession()
  const queryClient = useQueryClient()
  const notify = useNotify()
  const users = useQuery({ queryKey: ['users'], queryFn: () => call(api.GET('/api/v1/users')) })
  const change = useMutation({
    mutationFn: ({ user, body }: { user: User; body: Schemas['UserUpdate'] }) =>
      call(api.PATCH('/api/v1/users/{user_id}', { params: { path: { user_id: user.id } }, body })),
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries({ queryKey: ['users'] })
      notify(`Saved ${saved.username}: ${roleLabel(saved.role).toLowerCase()}, ${saved.active ? 'active' : 'deactivated'}.`)
    },
    onError: (error) => notify(error.message, 'danger'),
  })

  return (
    <>
      <PageHeader title="People" description="Who can sign in, and what each person may do." actions={<AddUserDialog />} />
      <ul className="mb-6 grid gap-2 text-sm text-muted-foreground md:grid-cols-3">
        {ROLES.map((role) => (
          <li key={role.value}>
            <span className="font-semibold text-foreground">{role.label}:</span> {role.description}
          </li>
        ))}
      </ul>
      {users.isPending && <Skeleton className="h-40 w-full" />}
      {users.isError && <Problem error={users.error} title="Could not load people" />}
      {users.data && (
        <div className="rounded-lg border border-border bg-background">
          <Table>
            <TableCaption>People with an account</TableCaption>
            <TableHeader>
              <TableRow>
                <TableHead>Name</TableHead>
                <TableHead>Role</TableHead>
                <TableHead>Status</TableHead>
                <TableHead className="hidden lg:table-cell">Last signed in</TableHead>
                <TableHead>
                  <span className="sr-only">Actions</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {users.data.items.map((user) => {
                const self = user.id === me?.id
                return (
                  <TableRow key={user.id}>
                    <TableCell>
                      <p className="font-medium">{user.username}</p>
                      <p className="text-muted-foreground">{user.email}</p>
                    </TableCell>
                    <TableCell>
                      <Select
                        value={user.role}
                        disabled={self || change.isPending}
                        onValueChange={(role) => change.mutate({ user, body: { role: role as Role } })}
                      >
                        <SelectTrigger className="w-40" aria-label={`Role of ${user.username}`}>
                          <SelectValue />
                        </SelectTrigger>
                        <SelectContent>
                          {ROLES.map((role) => (
                            <SelectItem key={role.value} value={role.value}>
                              {role.label}
                            </SelectItem>
                          ))}
                        </SelectContent>
                      </Select>
                      {self && <p className="mt-1 text-xs text-muted-foreground">You cannot change your own role.</p>}
                    </TableCell>
                    <TableCell>{user.active ? <Badge tone="success">Active</Badge> : <Badge>Deactivated</Badge>}</TableCell>
                    <TableCell className="hidden text-muted-foreground lg:table-cell">{formatRelative(user.last_login)}</TableCell>
                    <TableCell className="text-right">
                      <Button
                        variant="outline"
                        size="sm"
                        disabled={self || change.isPending}
                        aria-label={`${user.active ? 'Deactivate' : 'Reactivate'} ${user.username}`}
                        onClick={() => change.mutate({ user, body: { active: !user.active } })}
                      >
                        {user.active ? 'Deactivate' : 'Reactivate'}
                      </Button>
                    </TableCell>
                  </TableRow>
                )
              })}
            </TableBody>
          </Table>
        </div>
      )}
    </>
  )
}

const newUserSchema = z.object({
  username: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]{3,64}$/, 'Use 3 to 64 letters, digits, ".", "_" or "-".'),
  email: z.string().trim().regex(/^[^@\s]+@[^@\s]+$/, 'Enter an e-mail address.'),
  password: z.string().min(8, 'Use at least 8 characters.').max(256),
  role: z.enum(['admin', 'configurator', 'viewer']),
})
type NewUser = z.infer<typeof newUserSchema>

function AddUserDialog() {
  const [open, setOpen] = React.useState(false)
  const [failure, setFailure] = React.useState<unknown>(null)
  const queryClient = useQueryClient()
  const notify = useNotify()
  const form = useForm<NewUser>({
    resolver: zodResolver(newUserSchema),
    defaultValues: { username: '', email: '', password: '', role: 'viewer' },
  })
  const { errors, isSubmitting } = form.formState

  const submit = form.handleSubmit(async (values) => {
    setFailure(null)
    try {
      const created = await call(api.POST('/api/v1/users', { body: values }))
      await queryClient.invalidateQueries({ queryKey: ['users'] })
      notify(`Added ${created.username}. Give them the password in person or by a safe channel.`)
      form.reset()
      setOpen(false)
    } catch (error) {
      if (error instanceof ApiError) {
        const fields = error.fieldErrors()
        for (const [field, message] of Object.entries(fields))
          if (field in values) form.setError(field as keyof NewUser, { message })
        if (Object.keys(fields).length) return
      }
      setFailure(error)
    }
  })

  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button>
          <UserPlus aria-hidden="true" />
          Add person
        </Button>
      </DialogTrigger>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Add a person</DialogTitle>
          <DialogDescription>They sign in with this username and password.</DialogDescription>
        </DialogHeader>
        <form onSubmit={submit} noValidate className="grid gap-4">
          <Field id="new-username" label="Username" error={errors.username?.message}>
            {(control) => <Input autoComplete="off" {...control} {...form.register('username')} />}
          </Field>
          <Field id="new-email" label="E-mail" error={errors.email?.message}>
            {(control) => <Input type="email" autoComplete="off" {...control} {...form.register('email')} />}
          </Field>
          <Field id="new-password" label="First password" hint="At least 8 characters." error={errors.password?.message}>
            {(control) => <Input type="password" autoComplete="new-password" {...control} {...form.register('password')} />}
          </Field>
          <Field id="new-role" label="Role" error={errors.role?.message}>
            {(control) => (
              <Controller
                control={form.control}
                name="role"
                render={({ field }) => (
                  <Select value={field.value} onValueChange={field.onChange}>
                    <SelectTrigger {...control}>
                      <SelectValue />
                    </SelectTrigger>
                    <SelectContent>
                      {ROLES.map((role) => (
                        <SelectItem key={role.value} value={role.value}>
                          {role.label}
                        </SelectItem>
                      ))}
                    </SelectContent>
                  </Select>
                )}
              />
            )}
          </Field>
          {failure !== null && <Problem error={failure} title="Could not add this person" />}
          <DialogFooter>
            <Button type="submit" disabled={isSubmitting}>
              {isSubmitting ? 'Adding…' : 'Add person'}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  )
}
