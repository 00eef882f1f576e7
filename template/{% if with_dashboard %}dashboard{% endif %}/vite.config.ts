import path from 'node:path'
import tailwindcss from '@tailwindcss/vite'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// `npm run dev` serves the dashboard with hot reload and sends API calls to the backend
// (`uv run <slug> dev` on port 8000, or BACKEND_URL).
const backend = process.env.BACKEND_URL ?? 'http://127.0.0.1:8000'
// The backend may serve the build from elsewhere (DASHBOARD_DIST_DIR); `dist/` by default.
const outDir = process.env.DASHBOARD_DIST_DIR ?? 'dist'

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { '@': path.resolve(import.meta.dirname, './src') } },
  server: {
    proxy: { '/api': backend, '/health': backend, '/docs': backend, '/openapi.json': backend },
  },
  build: { target: 'es2022', outDir, emptyOutDir: true },
})
