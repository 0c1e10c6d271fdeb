import { defineConfig } from 'vitest/config';

// `mcp-pytest-source` resolves the #contracts/#domain/… imports to the TypeScript sources; the end-to-end suites
// run the apps built into dist/ as real processes (scripts/test.mjs builds first).
const resolve = { conditions: ['mcp-pytest-source'] };

export default defineConfig({
  resolve,
  ssr: { resolve },
  test: {
    projects: [
      {
        resolve,
        ssr: { resolve },
        test: { name: 'unit', include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts'] },
      },
      {
        resolve,
        ssr: { resolve },
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          // Each suite runs its own nats-server and apps; one at a time keeps 2 cores from thrashing.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
