// @vitest-environment node
import { readFileSync } from 'node:fs'
import path from 'node:path'
import openapiTS, { astToString } from 'openapi-typescript'
import { expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '../..')

it('the typed client matches openapi.json (else run `npm run api`)', async () => {
  const schema = JSON.parse(readFileSync(path.join(root, 'openapi.json'), 'utf8'))
  const generated = astToString(await openapiTS(schema))
  const committed = readFileSync(path.join(root, 'src/api/schema.d.ts'), 'utf8')
  // The CLI adds a header comment; compare what follows it.
  const body = committed.slice(committed.indexOf('export '))
  expect(body.trim(), 'src/api/schema.d.ts is stale: run `npm run api` and commit it').toBe(generated.trim())
})
