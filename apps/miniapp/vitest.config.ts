import react from '@vitejs/plugin-react';
import { defineProject } from 'vitest/config';

// Component tests in a DOM (happy-dom); the browser walk is its own project (vitest.e2e.config.ts).
export default defineProject({
  plugins: [react()],
  test: {
    name: 'miniapp',
    environment: 'happy-dom',
    include: ['test/**/*.test.tsx'],
    setupFiles: ['test/setup.ts'],
  },
});
