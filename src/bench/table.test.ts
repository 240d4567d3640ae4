import { describe, expect, test } from 'vitest';
import { formatResult, gemmOverFasterPeer, resultFileName, sig, targetLines, typeLabel } from './table.ts';
import type { BenchResult, E2eCase, MatmulCase } from './types.ts';

const timing = { ms: 1, minMs: 0.9, maxMs: 1.2, samples: 3, method: 'timestamp' as const };

function gemv(type: MatmulCase['type'], gbps: number | undefined, extra: Partial<MatmulCase> = {}): MatmulCase {
  const base: MatmulCase = { kernel: 'gemv', type, model: 'SmolLM2-135M', orientation: 'hidden→intermediate', M: 1, K: 576, N: 1536 };
  if (gbps === undefined) return { ...base, skipped: 'GPU error: out of memory', ...extra };
  return { ...base, timing, gbps, shareOfCopy: gbps / 100, ...extra };
}

function gemm(gflops: number, speedups: [number | undefined, number | undefined]): MatmulCase {
  return {
    kernel: 'gemm',
    type: 'F32',
    model: 'SmolLM2-135M',
    orientation: 'hidden→intermediate',
    M: 128,
    K: 576,
    N: 1536,
    timing,
    gflops,
    peers: [
      speedups[0] === undefined ? { peer: 'tfjs', oursMs: 1, skipped: 'out of memory' } : { peer: 'tfjs', peerMs: speedups[0], oursMs: 1, speedup: speedups[0] },
      speedups[1] === undefined ? { peer: 'ort', oursMs: 1, skipped: 'refused' } : { peer: 'ort', peerMs: speedups[1], oursMs: 1, speedup: speedups[1] },
    ],
  };
}

const e2e: E2eCase = {
  model: 'SmolLM2-135M',
  shapeNote: '2 of 30 layers',
  file: 'SmolLM2-135M-2L-F16.gguf',
  type: 'F16',
  layers: 2,
  hiddenSize: 576,
  intermediateSize: 1536,
  vocabSize: 512,
  promptTokens: 128,
  decodeTokens: 16,
  loadMs: 900,
  ttftMs: 2000,
  prefillTokensPerSecond: 64,
  decodeTokensPerSecond: 1.5,
  gpuBytes: 3 * 2 ** 20,
  bytesPerToken: 2e7,
  boundTokensPerSecond: 2.5,
  shareOfBound: 0.6,
  perToken: { dispatches: 31, commandBuffers: 2, submits: 2, writeBuffers: 32, encodeMs: 0.25 },
  llamaCpp: { backend: 'node-llama-cpp', threads: 2, ttftMs: 50, prefillTokensPerSecond: 2560, decodeTokensPerSecond: 400 },
};

function result(over: Partial<BenchResult> = {}): BenchResult {
  return {
    schema: 1,
    date: '2026-11-23T06:00:00.000Z',
    mode: 'quick',
    runtime: 'chromium',
    adapter: { name: 'google swiftshader 0xc0de SwiftShader Device (Subzero)', software: true, features: [], timestamps: true },
    copy: { bytes: 32 * 2 ** 20, timing, gbps: 100, copyBufferGbps: 120 },
    gemv: [gemv('F32', 80), gemv('Q4_K', undefined), gemv('F16', 12.34, { orientation: 'intermediate→hidden', K: 1536, N: 576 })],
    gemm: [gemm(250, [6, 4])],
    peers: [{ peer: 'tfjs', version: 'tfjs 4.22.0' }, { peer: 'ort', unavailable: 'no adapter' }],
    e2e: [e2e],
    pending: ['wllama is not wired in.'],
    seconds: 60,
    ...over,
  };
}

describe('bench tables', () => {
  test('sig keeps three significant digits without exponents', () => {
    expect([sig(1234.5), sig(12.345), sig(1.2345), sig(0.012345)]).toEqual(['1235', '12.3', '1.23', '0.0123']);
  });

  test('GEMV cells give GB/s and share of copy, with a dash for a skipped type and one row per shape', () => {
    const md = formatResult(result());
    expect(md).toContain('| shape K→N | F32 | Q4_K | F16 |');
    expect(md).toContain('| SmolLM2-135M 576→1536 | 80.0 (80%) | — | — |');
    expect(md).toContain('| SmolLM2-135M 1536→576 | — | — | 12.3 (12%) |');
  });

  test('a column whose cases ran in llama.cpp’s fallback type names it and the K it applied at', () => {
    const fallback = (K: number, N: number, storedType: MatmulCase['storedType']) => gemv('Q4_K', 40, { K, N, storedType, model: K === 576 ? 'SmolLM2-135M' : 'Qwen2.5-0.5B' });
    const cases = [gemv('F32', 80), fallback(576, 1536, 'Q5_0'), fallback(896, 4864, 'Q5_0'), gemv('Q4_K', 50, { orientation: 'intermediate→hidden', K: 1536, N: 576 })];
    expect(cases.map(typeLabel)).toEqual(['F32', 'Q4_K as Q5_0', 'Q4_K as Q5_0', 'Q4_K']);
    const md = formatResult(result({ gemv: cases }));
    expect(md).toContain('| shape K→N | F32 | Q4_K (Q5_0 at K=576, 896) |');
    expect(md).toContain('| SmolLM2-135M 576→1536 | 80.0 (80%) | 40.0 (40%) |');
    expect(md).toContain('| SmolLM2-135M 1536→576 | — | 50.0 (50%) |');
    expect(md).toContain('(Q4_K → Q5_0)');
    // Without a fallback there is neither a bracket nor the note.
    expect(formatResult(result())).not.toContain('In brackets');
  });

  test('GEMM rows carry the speed against each peer, and a software adapter is called out', () => {
    const md = formatResult(result());
    expect(md).toContain('| SmolLM2-135M 576→1536 | 250 | 6.00× | 4.00× |');
    expect(md).toContain('say nothing about a real GPU');
    expect(md).toContain('- ORT-web could not run here: no adapter');
    expect(md).toContain('- wllama is not wired in.');
  });

  test('the end-to-end row has the bound, per-token costs and the llama.cpp point', () => {
    const md = formatResult(result());
    expect(md).toContain('16 decoded tokens');
    expect(md).toContain('| SmolLM2-135M | F16 | 2 | 64.0 | 1.50 | 2000 | 900 | 2.50 | 60% | 3.00 MiB | — | 31.0 | 2.00 | 0.250 | 2560 / 400 |');
  });

  test('a shape note the rows share is printed once, and what a type adds on a line of its own', () => {
    const q4: E2eCase = { ...e2e, type: 'Q4_K', shapeNote: '2 of 30 layers; Q5_0 in the matrices with rows of 576' };
    const md = formatResult(result({ e2e: [e2e, { ...e2e, type: 'Q8_0' }, q4] }));
    const notes = md.split('\n').filter((l) => l.startsWith('- SmolLM2-135M'));
    expect(notes).toEqual(['- SmolLM2-135M: 2 of 30 layers', '- SmolLM2-135M Q4_K: Q5_0 in the matrices with rows of 576']);
  });

  test('targets compare against the faster peer and the thresholds', () => {
    // The faster peer is the one with the smaller speedup; a skipped peer is left out.
    expect(gemmOverFasterPeer(result())).toBe(4);
    expect(gemmOverFasterPeer(result({ gemm: [gemm(250, [7, undefined])] }))).toBe(7);
    expect(gemmOverFasterPeer(result({ gemm: [gemm(250, [undefined, undefined])] }))).toBeUndefined();
    const lines = targetLines(result());
    expect(lines).toContain('- GEMV ≥ 70% of copy bandwidth: 1 of 2 cases');
    expect(lines).toContain('- GEMM ≥ 5× the faster WebGPU peer: 4.00× at worst — not met');
    expect(lines).toContain('- Decode ≥ 60% of the bandwidth bound (135M shape): F16 60% — met');
  });

  test('file names hold the date, runtime and a slug of the adapter', () => {
    expect(resultFileName(result())).toBe('2026-11-23-chromium-google-swiftshader-0xc0de-swiftshader-device-subzero.json');
    expect(resultFileName({ ...result(), e2e: [] })).toBe('2026-11-23-chromium-google-swiftshader-0xc0de-swiftshader-device-subzero-kernels.json');
    expect(resultFileName({ ...result(), gemv: [], gemm: [] })).toBe('2026-11-23-chromium-google-swiftshader-0xc0de-swiftshader-device-subzero-e2e.json');
  });
});
