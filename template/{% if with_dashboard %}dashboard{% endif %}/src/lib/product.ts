/** The product's name: the server writes it into the page when it serves the dashboard. */
export function productName(): string {
  const meta = document.querySelector('meta[name="application-name"]')
  return meta?.getAttribute('content') || 'Dashboard'
}
