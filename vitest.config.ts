import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { chromiumArgs, chromiumPath } from './test/chromium.ts';

// Three kinds of test file:
//   *.test.ts       plain logic, in Node
//   *.gpu.test.ts   GPU work, run twice: in Chromium (SwiftShader) and in Node on Dawn
//   *.dawn.test.ts  GPU work that also needs Node (node-llama-cpp, the file system), on Dawn only
//   *.browser.test.ts  browser-only APIs (IndexedDB, workers), in Chromium only
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.browser.test.ts', '**/node_modules/**'],
          environment: 'node',
          setupFiles: ['test/setup-dawn.ts'],
          // Dawn devices and llama.cpp contexts are heavy; two cores run two files at once at most.
          pool: 'forks',
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['src/**/*.gpu.test.ts', 'src/**/*.browser.test.ts'],
          // Browser tests cannot open sockets: the local hub they load from runs in Node.
          globalSetup: ['test/hubGlobalSetup.ts'],
          sequence: { groupOrder: 1 },
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({ launchOptions: { executablePath: chromiumPath(), args: chromiumArgs } }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
