/**
 * Builds the web UI into web/dist, which `tributary up` serves on its HTTP port.
 * JSX goes through esbuild (no React plugin needed); `npm run dev:web` proxies the API to a
 * running `tributary up` (TRIBUTARY_SERVER, default http://127.0.0.1:8080).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const server = process.env['TRIBUTARY_SERVER'] || 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  base: '/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: {
      '/api': { target: server, changeOrigin: true },
      '/metrics': server,
      '/health': server,
      '/ready': server,
    },
  },
});
