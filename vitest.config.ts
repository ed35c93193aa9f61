import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['shared/**/*.test.ts', 'coordinator/**/*.test.ts', 'agent/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], maxWorkers: 2 },
      },
    ],
  },
});
