import { useQuery } from '@tanstack/react-query'
import { ArrowLeft } from 'lucide-react'
import { Link, useParams } from 'react-router'
import { api, call } from '@/api/client'
import { PageHeader } from '@/components/page'
import { Problem } from '@/components/problem'
import { Skeleton } from '@/components/ui/skeleton'

/** One runbook, rendered from the project's Markdown file (the server escapes raw HTML). */
export default function RunbookPage() {
  const slug = useParams().slug ?? ''
  const book = useQuery({
    queryKey: ['runbooks', slug],
    queryFn: () => call(api.GET('/api/v1/runbooks/{slug}', { params: { path: { slug } } })),
  })
  return (
    <>
      <Link to="/runbooks" className="mb-3 inline-flex items-center gap-1 text-sm text-primary hover:underline">
        <ArrowLeft className="size-4" aria-hidden="true" />
        All runbooks
      </Link>
      {book.isPending && <Skeleton className="h-64 w-full" />}
      {book.isError && <Problem error={book.error} title="Could not open this runbook" />}
      {book.data && (
        <>
          <PageHeader title={book.data.title} description={book.data.summary} />
          <article
            className="prose-runbook max-w-3xl rounded-lg border border-border bg-background p-6"
            // Rendered by the server from the project's own Markdown, with raw HTML escaped.
            dangerouslySetInnerHTML={{ __html: withoutFirstHeading(book.data.html) }}
          />
        </>
      )}
    </>
  )
}

/** The page already shows the title as its heading. */
function withoutFirstHeading(html: string): string {
  return html.replace(/^\s*<h1>[\s\S]*?<\/h1>\s*/, '')
}
