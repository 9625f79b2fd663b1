import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{protocol,emulator,main,renderer,test,tools}/**/*.test.{ts,tsx}'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
