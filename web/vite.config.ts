// Vite builds the app into web/dist, which `npm start` serves on its one port. In
// development (`npm run dev -w @realtime/web`) /api and /ws go to `npm start`'s server.
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const target = process.env.VITE_API_TARGET ?? 'http://localhost:3000';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic' } },
  plugins: [
    // The offline shell: a service worker (workbox) keeps the built files, so a page closed
    // while offline opens again offline, with its persisted lists and its queued writes.
    // Only the app's own files: /api and /ws always go to the network (a cached answer
    // there would be stale data with no position), and no data is cached by the worker.
    VitePWA({
      registerType: 'autoUpdate',
      // A file the page loads (registerSW.js), not an inline script: the CSP allows only 'self'.
      injectRegister: 'script',
      manifest: false,
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,ico,woff2}'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api\//, /^\/ws/, /^\/metrics/, /^\/status/],
        cleanupOutdatedCaches: true,
        // The first page load is controlled at once: a tab opened once can be reopened offline.
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
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
