// Vite builds the app into web/dist, which `npm start` serves on its one port. In
// development (`npm run dev -w @realtime/web`) /api and /ws go to `npm start`'s server.
import { defineConfig } from 'vite';

const target = process.env.VITE_API_TARGET ?? 'http://localhost:3000';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: {
      // TanStack Query marks files "use client" for React Server Components; a plain
      // client bundle has nothing to keep, so the warning is only noise.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: { proxy: { '/api': target, '/ws': { target, ws: true } } },
});
