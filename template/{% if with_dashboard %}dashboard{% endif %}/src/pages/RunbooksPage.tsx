import { useQuery } from '@tanstack/react-query'
import { Link } from 'react-router'
import { api, call } from '@/api/client'
import { EmptyState, PageHeader } from '@/components/page'
import { Problem } from '@/components/problem'
import { Card, CardDescription, CardHeader, CardTitle } from '@/components/ui/card'
import { Skeleton } from '@/components/ui/skeleton'

/** The project's runbooks: what to do when something needs attention. */
export default function RunbooksPage() {
  const runbooks = useQuery({ queryKey: ['runbooks'], queryFn: () => call(api.GET('/api/v1/runbooks')) })
  return (
    <>
      <PageHeader title="Runbooks" description="Step-by-step help for the situations that need someone to act." />
      {runbooks.isPending && <Skeleton className="h-40 w-full" />}
      {runbooks.isError && <Problem error={runbooks.error} title="Could not load the runbooks" />}
      {runbooks.data && runbooks.data.items.length === 0 && (
        <EmptyState title="No runbooks yet">Add Markdown files to the project's runbooks folder and they appear here.</EmptyState>
      )}
      {runbooks.data && runbooks.data.items.length > 0 && (
        <ul className="grid gap-4 md:grid-cols-2">
          {runbooks.data.items.map((book) => (
            <li key={book.slug}>
              <Card className="h-full">
                <CardHeader>
                  <CardTitle>
                    <Link to={`/runbooks/${book.slug}`} className="text-primary hover:underline">
                      {book.title}
                    </Link>
                  </CardTitle>
                  {book.summary && <CardDescription>{book.summary}</CardDescription>}
                </CardHeader>
              </Card>
            </li>
          ))}
        </ul>
      )}
    </>
  )
}
