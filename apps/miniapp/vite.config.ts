import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The API serves the built app at `/`; in `pnpm dev` Vite proxies API calls to it.
export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      '/trpc': 'http://127.0.0.1:3000',
      '/api': 'http://127.0.0.1:3000',
      '/config.json': 'http://127.0.0.1:3000',
    },
  },
  build: { outDir: 'dist', sourcemap: true, target: 'es2022' },
});
