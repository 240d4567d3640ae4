// The built score CLI on the embedded stories260K GGUF, against llama.cpp teacher-forced.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'vite';
import { beforeAll, describe, expect, test } from 'vitest';
import { STORIES_GGUF } from '../../test/embedded.ts';
import { referenceProbabilities } from '../../test/llamaCpp.ts';
import type { ScoreResult } from '../engine/score.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let cli: string;

beforeAll(async () => {
  // Its own folder: the generate CLI test builds (and empties) another at the same time.
  const out = join(ROOT, 'node_modules', '.cache', 'pocket-hub-score-cli-test');
  await build({ configFile: join(ROOT, 'vite.cli.config.ts'), root: ROOT, build: { outDir: out }, logLevel: 'error' });
  cli = join(out, 'score.js');
});

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function scoreJson(args: string[]): Promise<ScoreResult> {
  const { code, stdout, stderr } = await run(['--model', STORIES_GGUF, '--json', ...args]);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout);
}

// Longer than the batch of 64, so the logits of every row come back over two chunks.
const LONG_TEXT = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. '.repeat(3);

describe('score --json', () => {
  test('has one position per id, sorted top-k lists, and the perplexity of the listed next-token probabilities', async () => {
    const out = await scoreJson(['--text', 'Once upon a time', '--top-k', '7']);
    expect(Object.keys(out)).toEqual(['ids', 'perplexity', 'positions']);
    expect(out.ids).toEqual([1, 403, 407, 261, 378]);
    expect(out.positions).toHaveLength(out.ids.length);
    for (const { top } of out.positions) {
      expect(top).toHaveLength(7);
      for (let j = 1; j < top.length; j++) expect(top[j][1]).toBeLessThanOrEqual(top[j - 1][1]);
      expect(top.reduce((sum, [, p]) => sum + p, 0)).toBeLessThanOrEqual(1 + 1e-12);
    }
    expect(out.positions.at(-1)!.nextProbability).toBeUndefined();
    const next = out.positions.slice(0, -1).map((p) => p.nextProbability!);
    expect(next.every((p) => p > 0 && p <= 1)).toBe(true);
    // The golden continuation of this model: each of these tokens is its top choice.
    out.positions.slice(0, -1).forEach((p, i) => expect(p.top[0]).toEqual([out.ids[i + 1], p.nextProbability]));
    // Both sides are the same float64 values after a JSON round trip; only the order of the sum may differ.
    const expected = Math.exp(-next.reduce((sum, p) => sum + Math.log(p), 0) / next.length);
    expect(out.perplexity).toBeCloseTo(expected, 12);
  });

  test('top-1 at every position is llama.cpp’s greedy choice teacher-forced, across a chunk boundary', async () => {
    // An f32 KV cache, as llama.cpp's in referenceProbabilities.
    const out = await scoreJson(['--text', LONG_TEXT, '--top-k', '3', '--kv-cache', 'f32']);
    expect(out.ids.length).toBeGreaterThan(64);
    const reference = await referenceProbabilities(STORIES_GGUF, out.ids, 3);
    const ours = out.positions.map((p) => p.top[0][0]);
    expect(ours).toEqual(reference.map((top) => top[0][0]));
    // Both run the f32 weights in f32 and differ only in summation order: ~1e-6 relative in
    // the logits, so 1e-4 on a probability is a hundred times the expected gap.
    out.positions.forEach((p, i) => expect(Math.abs(p.top[0][1] - reference[i][0][1])).toBeLessThan(1e-4));
  });

  test('--ids are scored as given, without BOS', async () => {
    const withBos = await scoreJson(['--ids', '1,403,407,261,378']);
    const text = await scoreJson(['--text', 'Once upon a time']);
    expect(withBos).toEqual(text);
    const without = await scoreJson(['--ids', '403,407,261,378']);
    expect(without.ids).toEqual([403, 407, 261, 378]);
    expect(without.perplexity).not.toBe(text.perplexity);
  });
});

test('prints a line per position and the perplexity without --json', async () => {
  const { code, stdout, stderr } = await run(['--model', STORIES_GGUF, '--text', 'Once upon a time', '--top-k', '2']);
  expect(code, stderr).toBe(0);
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(6);
  expect(lines[1]).toMatch(/^\s+1\s+403 "Once" p=0\.\d{4}\s+→ "upon" 0\.\d{4}, "[^"]*" 0\.\d{4}$/);
  expect(lines[5]).toMatch(/^perplexity \d+\.\d{4} over 4 predicted tokens$/);
});

test('bad input exits non-zero with the reason', async () => {
  const outside = await run(['--model', STORIES_GGUF, '--ids', '1,512']);
  expect(outside.code).toBe(1);
  expect(outside.stderr).toContain('error (InvalidArgumentError): Token id 512 is outside the vocabulary of 512.');
  const single = await run(['--model', STORIES_GGUF, '--text', '']);
  expect(single.code).toBe(1);
  expect(single.stderr).toMatch(/at least two tokens/);
  const cache = await run(['--model', STORIES_GGUF, '--text', 'x', '--kv-cache', 'f8']);
  expect(cache.code).toBe(1);
  expect(cache.stderr).toContain('--kv-cache takes f16 or f32, got "f8".');
  const both = await run(['--model', STORIES_GGUF, '--text', 'x', '--ids', '1,2']);
  expect(both.code).toBe(1);
  expect(both.stderr).toMatch(/one of --text or --ids/);
  const tooLong = await run(['--model', STORIES_GGUF, '--text', LONG_TEXT, '--context', '32']);
  expect(tooLong.code).toBe(1);
  expect(tooLong.stderr).toContain('error (ContextOverflowError)');
});
