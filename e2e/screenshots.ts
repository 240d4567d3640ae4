// Full-page screenshots of every page for review by eye, at a desktop and a phone width, light
// and dark. Not a test (Playwright runs only *.spec.ts) and not part of `npm test`: run it by
// hand after `npx vite build`, as
//
//   npx tsx e2e/screenshots.ts [out-dir]        (default /tmp/shots)
//
// It serves dist/ with `vite preview` on its own port, so it needs nothing else running. The
// chat page is taken after one greedy reply of the embedded model; the chat Space shows what a
// browser without huggingface.co sees, since the machine it runs on has no internet.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright';
import { chromiumArgs, chromiumPath } from '../test/chromium.ts';

// Not 4190: browsers and fetch refuse it (the Fetch standard's "bad ports", ManageSieve).
const PORT = 4195;
// The address vite preview listens on here, whatever 'localhost' resolves to first.
const APP = `http://127.0.0.1:${PORT}`;
const out = process.argv[2] ?? '/tmp/shots';

const SIZES = [
  { name: '1280', width: 1280, height: 800 },
  { name: '375', width: 375, height: 812 },
] as const;
const SCHEMES = ['light', 'dark'] as const;

/** Each page and what shows that it has finished loading. */
const PAGES: { name: string; path: string; ready: (page: Page) => Promise<unknown> }[] = [
  { name: 'home', path: '/', ready: (p) => p.getByRole('heading', { level: 1 }).first().waitFor() },
  { name: 'models', path: '/models', ready: (p) => p.getByRole('heading', { level: 1 }).first().waitFor() },
  { name: 'model-stories260K-GGUF', path: '/pocket-hub/stories260K-GGUF', ready: (p) => p.getByRole('heading', { name: 'Model summary' }).waitFor() },
  { name: 'spaces', path: '/spaces', ready: (p) => p.getByRole('list', { name: 'Spaces' }).getByRole('listitem').first().waitFor() },
  { name: 'space-story-writer', path: '/spaces/pocket-hub/story-writer', ready: (p) => p.getByRole('button', { name: /^Load model/ }).waitFor() },
  { name: 'space-smol-chat', path: '/spaces/pocket-hub/smol-chat', ready: (p) => p.getByRole('heading', { level: 1 }).waitFor() },
  { name: 'space-story-stream', path: '/spaces/pocket-hub/story-stream', ready: (p) => p.frameLocator('iframe[title="Story Stream"]').getByRole('button', { name: 'Start' }).waitFor() },
  { name: 'storage', path: '/storage', ready: (p) => p.getByRole('heading', { name: 'Space used by this site' }).waitFor() },
  { name: 'settings', path: '/settings', ready: (p) => p.getByRole('heading', { name: 'Settings' }).waitFor() },
  { name: 'bench', path: '/bench', ready: (p) => p.getByRole('heading', { level: 1 }).first().waitFor() },
  { name: '404', path: '/no/such/page/here', ready: (p) => p.getByRole('heading', { level: 1 }).first().waitFor() },
];

/** The chat after one greedy reply of the default model, so the transcript and its stats show. */
async function chatAfterOneReply(page: Page): Promise<void> {
  await page.goto(`${APP}/chat`);
  await page.getByText('Sampling settings').click();
  await page.getByRole('button', { name: 'Greedy' }).click();
  await page.getByLabel('Max new tokens').fill('24');
  await page.getByText('Sampling settings').click();
  await page.getByLabel('Message').fill('Once upon a time');
  // Send is enabled once the model has loaded.
  await page.getByRole('button', { name: 'Send' }).and(page.locator(':enabled')).waitFor({ timeout: 120_000 });
  await page.getByLabel('Message').press('Enter');
  await page.getByText('token limit', { exact: true }).waitFor({ timeout: 120_000 });
}

/**
 * Elements that stick out past the right edge of the viewport without a scrolling box around
 * them: what a reviewer would see as sideways scrolling or clipped text on a phone.
 */
function overflowing(page: Page): Promise<string[]> {
  // No named functions inside: tsx would wrap them in a helper that the page does not have.
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const found: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.getBoundingClientRect().right <= width + 1) continue;
      let inside = false;
      for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
        if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(up).overflowX)) inside = true;
      }
      if (!inside) found.push(`${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ')[0]}` : ''}`);
    }
    return [...new Set(found)];
  });
}

async function serve(): Promise<() => void> {
  const server = spawn(join('node_modules', '.bin', 'vite'), ['preview', '--port', String(PORT), '--strictPort'], { stdio: 'ignore', detached: true });
  // A minute: on a busy two-core machine Vite takes its time to start.
  for (let i = 0; i < 300; i++) {
    if (await fetch(APP).then((r) => r.ok, () => false)) return () => process.kill(-server.pid!);
    await new Promise((r) => setTimeout(r, 200));
  }
  process.kill(-server.pid!);
  throw new Error(`vite preview did not answer on ${APP}`);
}

async function main(): Promise<void> {
  await mkdir(out, { recursive: true });
  const stop = await serve();
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs });
  try {
    for (const size of SIZES) {
      for (const scheme of SCHEMES) {
        const context = await browser.newContext({ viewport: size, colorScheme: scheme, serviceWorkers: 'block' });
        // No internet here: huggingface.co fails at once instead of after a DNS timeout.
        await context.route('https://huggingface.co/**', (route) => route.abort('internetdisconnected'));
        const page = await context.newPage();
        page.setDefaultTimeout(60_000);
        const shot = async (name: string) => {
          const wide = await overflowing(page);
          if (wide.length > 0) console.warn(`${name} ${size.name} ${scheme}: wider than the viewport: ${wide.join(', ')}`);
          await page.screenshot({ path: join(out, `${name}-${size.name}-${scheme}.png`), fullPage: true });
        };
        for (const { name, path, ready } of PAGES) {
          await page.goto(`${APP}${path}`);
          await ready(page).catch((err: unknown) => console.warn(`${name}: ${(err as Error).message.split('\n')[0]}`));
          // Lazy parts (markdown, highlighted code) settle after the first paint.
          await page.waitForTimeout(500);
          await shot(name);
        }
        await chatAfterOneReply(page);
        await shot('chat');
        await context.close();
        console.log(`${size.name} ${scheme}: ${PAGES.length + 1} pages`);
      }
    }
  } finally {
    await browser.close();
    stop();
  }
}

await main();
