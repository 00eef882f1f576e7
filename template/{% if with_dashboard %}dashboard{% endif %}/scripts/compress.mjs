// Write a gzip copy next to each text asset; the server sends it to browsers that accept gzip.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { gzipSync, constants } from 'node:zlib'

const outDir = resolve(process.env.DASHBOARD_DIST_DIR ?? 'dist')
const compressible = /\.(js|css|svg|json|txt|map)$/

function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) walk(path)
    else if (compressible.test(entry.name)) {
      const data = readFileSync(path)
      const zipped = gzipSync(data, { level: constants.Z_BEST_COMPRESSION })
      if (zipped.length < data.length) writeFileSync(`${path}.gz`, zipped)
    }
  }
}

walk(outDir)
