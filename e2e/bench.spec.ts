import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { BenchResult } from '../src/bench/types.ts';

const RESULTS = join(import.meta.dirname, '..', 'bench', 'results');

test('/bench lists every saved run, shows each on request, and names each model note once', async ({ page }) => {
  const saved = readdirSync(RESULTS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as BenchResult);
  expect(saved.length).toBeGreaterThan(0);

  await page.goto('/bench');
  await expect(page.getByRole('heading', { level: 1, name: 'Bench' })).toBeVisible();
  const runs = page.getByRole('region', { name: 'Saved runs' });
  // A header row, then a row per file.
  await expect(runs.getByRole('row')).toHaveCount(saved.length + 1);

  for (const run of saved) {
    const day = run.date.slice(0, 10);
    const show = runs.getByRole('button', { name: `Show the ${run.runtime} run of ${day} on ${run.adapter.name}` });
    await show.click();
    await expect(show).toHaveAttribute('aria-pressed', 'true');
    const shown = page.getByRole('article');
    await expect(shown.getByRole('heading', { level: 2 })).toContainText(`(${run.runtime}, ${run.mode}, ${day})`);
    if (run.adapter.software) await expect(shown.getByRole('note')).toContainText('is a CPU implementation of WebGPU');
    // Each model's shared note once, then only what a type adds to it.
    for (const model of new Set(run.e2e.map((e) => e.model))) {
      await expect(shown.getByRole('listitem').filter({ hasText: new RegExp(`^${model}: `) })).toHaveCount(1);
    }
  }
});
