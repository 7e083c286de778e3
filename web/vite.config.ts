import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// base './' makes every asset URL relative, so the same build works at "/"
// and behind a reverse proxy that mounts Eventara under a sub-path.
export default defineConfig({
  base: './',
  plugins: [react()],
  // sockjs-client reads Node's `global`; the browser calls it globalThis.
  define: { global: 'globalThis' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // Swagger UI (docs.html) is one ~1.6 MB script of its own; the
    // dashboard's stays under this.
    chunkSizeWarningLimit: 1700,
    rolldownOptions: {
      // Two pages: the dashboard, and the API docs served at /docs.
      input: { dashboard: 'index.html', docs: 'docs.html' },
    },
  },
  server: {
    // `npm run dev` proxies the API and the SockJS endpoint to a running binary.
    proxy: {
      '/ws': { target: process.env.EVENTARA_URL ?? 'http://127.0.0.1:8080', ws: true },
      '/api': { target: process.env.EVENTARA_URL ?? 'http://127.0.0.1:8080' },
    },
  },
});
