import { defineConfig } from '@playwright/test';
import { chromiumArgs, chromiumPath } from './test/chromium.ts';
import { BAD_MODELS_PORT } from './test/badModels.ts';
import { HUB_CONTROL_PORT } from './e2e/hubServer.ts';
import { HOST_PAGES_PORT } from './e2e/hostPagesServer.ts';

const port = 4173;

// End-to-end tests against the production build served by `vite preview`, in Debian's
// Chromium with WebGPU on SwiftShader (Playwright cannot download its own browsers here).
export default defineConfig({
  testDir: 'e2e',
  // SwiftShader runs the GPU on the CPU: loading and generating take tens of seconds, not milliseconds.
  timeout: 300_000,
  expect: { timeout: 120_000 },
  // One browser at a time: each SwiftShader instance wants every core the machine has.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    baseURL: `http://localhost:${port}`,
    browserName: 'chromium',
    launchOptions: { executablePath: chromiumPath(), args: chromiumArgs },
    trace: 'retain-on-failure',
  },
  webServer: [
    {
      command: `npx vite build && npx vite preview --port ${port} --strictPort`,
      url: `http://localhost:${port}`,
      reuseExistingServer: !process.env.CI,
      timeout: 180_000,
    },
    {
      command: `npx tsx e2e/badModelServer.ts ${BAD_MODELS_PORT}`,
      url: `http://localhost:${BAD_MODELS_PORT}`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
    {
      // The hub itself answers 404 at its root, so readiness is checked on its control port.
      command: 'npx tsx e2e/hubServer.ts',
      url: `http://localhost:${HUB_CONTROL_PORT}`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
    {
      // Other sites: the pages that embed Pocket Hub or import its SDK (embed.spec.ts).
      command: 'npx tsx e2e/hostPagesServer.ts',
      url: `http://localhost:${HOST_PAGES_PORT}`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
  ],
});
