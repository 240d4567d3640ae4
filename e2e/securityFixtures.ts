// A Playwright test whose browser context reports what must never happen on a page of the app:
// a Content-Security-Policy violation (the event, or the console line Chromium writes for one,
// in pages, frames and workers), a call to the XSS corpus's hook, or a dialog. The test fails
// at its end if any happened; a test that causes one on purpose takes it out of `watch`.
import { expect, test as base, type Page } from '@playwright/test';
import { XSS_HOOK } from './xssCorpus.ts';

export interface Fired {
  id: string;
  /** The address of the frame the payload ran in. */
  frame: string;
}

export interface SecurityWatch {
  fired: Fired[];
  dialogs: string[];
  violations: string[];
}

// Chromium's console line for a violation, in a page or a worker ("Refused to … because it
// violates the following Content Security Policy directive …").
const VIOLATION_LINE = /Content Security Policy/i;

function watchPage(page: Page, watch: SecurityWatch): void {
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    if (VIOLATION_LINE.test(message.text())) watch.violations.push(`console: ${message.text()}`);
  });
  page.on('worker', (worker) =>
    worker.on('console', (message) => {
      if (VIOLATION_LINE.test(message.text())) watch.violations.push(`worker ${worker.url()}: ${message.text()}`);
    }),
  );
}

export const test = base.extend<{ watch: SecurityWatch }>({
  watch: [
    async ({ context, page }, use) => {
      const watch: SecurityWatch = { fired: [], dialogs: [], violations: [] };
      await context.exposeBinding(XSS_HOOK, ({ frame }, id: unknown) => void watch.fired.push({ id: String(id), frame: frame.url() }));
      await context.exposeBinding('cspViolation', (_source, line: unknown) => void watch.violations.push(String(line)));
      // Every document of the context, frames included; init scripts are not subject to the page's policy.
      await context.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (event) => {
          const report = (globalThis as unknown as { cspViolation: (line: string) => void }).cspViolation;
          void report(`${location.href}: ${event.effectiveDirective} blocked ${event.blockedURI || '(inline)'} at ${event.sourceFile}:${event.lineNumber}`);
        });
      });
      watchPage(page, watch);
      context.on('page', (popup) => watchPage(popup, watch));
      await use(watch);
      expect(watch.fired, 'payloads that ran').toEqual([]);
      expect(watch.dialogs, 'dialogs that opened').toEqual([]);
      expect(watch.violations, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
