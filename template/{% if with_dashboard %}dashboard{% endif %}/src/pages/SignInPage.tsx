import { zodResolver } from '@hookform/resolvers/zod'
import * as React from 'react'
import { useForm } from 'react-hook-form'
import { Navigate, useLocation } from 'react-router'
import { z } from 'zod'
import { useSession } from '@/auth/session'
import { Problem } from '@/components/problem'
import { Button } from '@/components/ui/button'
import { Card, CardContent, CardDescription, CardHeader } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { productName } from '@/lib/product'

const schema = z.object({
  username: z.string().trim().min(1, 'Enter your username or e-mail.'),
  password: z.string().min(1, 'Enter your password.'),
})
type Values = z.infer<typeof schema>

export default function SignInPage() {
  const { user, signIn } = useSession()
  const location = useLocation()
  const [failure, setFailure] = React.useState<unknown>(null)
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: { username: '', password: '' } })
  const { errors, isSubmitting } = form.formState

  React.useEffect(() => {
    document.title = `Sign in · ${productName()}`
  }, [])

  if (user) {
    const from = (location.state as { from?: string } | null)?.from
    return <Navigate to={from && from !== '/sign-in' ? from : '/agents'} replace />
  }

  const submit = form.handleSubmit(async (values) => {
    setFailure(null)
    try {
      await signIn(values.username, values.password)
    } catch (error) {
      setFailure(error)
    }
  })

  return (
    <main className="flex min-h-screen items-center justify-center bg-slate-50 p-4">
      <Card className="w-full max-w-sm">
        <CardHeader>
          <h1 className="text-xl font-bold">Sign in to {productName()}</h1>
          <CardDescription>Use the account an admin gave you.</CardDescription>
        </CardHeader>
        <CardContent>
          <form onSubmit={submit} noValidate className="grid gap-4">
            {failure !== null && <Problem error={failure} title="Could not sign in" />}
            <Field id="username" label="Username or e-mail" error={errors.username?.message}>
              {(control) => <Input autoComplete="username" autoFocus {...control} {...form.register('username')} />}
            </Field>
            <Field id="password" label="Password" error={errors.password?.message}>
              {(control) => (
                <Input type="password" autoComplete="current-password" {...control} {...form.register('password')} />
              )}
            </Field>
            <Button type="submit" disabled={isSubmitting}>
              {isSubmitting ? 'Signing in…' : 'Sign in'}
            </Button>
          </form>
        </CardContent>
      </Card>
    </main>
  )
}
