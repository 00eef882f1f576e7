import { Link } from 'react-router'
import { EmptyState, PageHeader } from '@/components/page'
import { Button } from '@/components/ui/button'

export default function NotFoundPage() {
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState
        title="There is nothing at this address"
        action={
          <Button asChild>
            <Link to="/agents">Go to agents</Link>
          </Button>
        }
      >
        The link may be old, or the page was moved.
      </EmptyState>
    </>
  )
}
