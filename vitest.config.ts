import { defineConfig } from 'vitest/config';
import { SummaryReporter } from './test/helpers/summary-reporter.js';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 90_000,
    hookTimeout: 120_000,
    reporters: ['default', new SummaryReporter()],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'shared/**/*.test.ts',
            'coordinator/**/*.test.ts',
            'agent/**/*.test.ts',
            'cli/**/*.test.ts',
          ],
        },
      },
      {
        extends: true,
        // Real processes, PostgreSQL, PGlite (~700 MB each) and upsd: at most two files at once,
        // after the unit project.
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/edge/**'],
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        // The coordinator in local workerd (Miniflare): one file at a time, after the others.
        test: {
          name: 'edge',
          include: ['test/edge/**/*.test.ts'],
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
