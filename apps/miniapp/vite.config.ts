import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { compression, defineAlgorithm } from 'vite-plugin-compression2';

// The API serves the built app at `/`; in `pnpm dev` Vite proxies API calls to it. Every text asset
// is also written brotli- and gzip-compressed, so the server sends the smallest one with no work per
// request. Source maps are built but not referenced from the bundles ('hidden'): the server does not
// serve them in production.
export default defineConfig({
  plugins: [
    react(),
    compression({
      algorithms: [defineAlgorithm('brotliCompress'), defineAlgorithm('gzip', { level: 9 })],
      include: /\.(js|css|html|svg|json)$/,
      threshold: 512,
    }),
  ],
  server: {
    port: 5173,
    proxy: {
      '/trpc': 'http://127.0.0.1:3000',
      '/api': 'http://127.0.0.1:3000',
      '/config.json': 'http://127.0.0.1:3000',
    },
  },
  build: { outDir: 'dist', sourcemap: 'hidden', target: 'es2022' },
});
