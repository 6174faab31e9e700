// Vite builds the app into web/dist, which `npm start` serves on its one port. In
// development (`npm run dev -w @realtime/web`) /api and /ws go to `npm start`'s server.
import { defineConfig } from 'vite';

const target = process.env.VITE_API_TARGET ?? 'http://localhost:3000';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/api': target, '/ws': { target, ws: true } } },
});
