import { describe, expect, test } from 'vitest';
import { e2eSpecs, matmulPlan, MODEL_SHAPES, suiteConfig } from './plan.ts';

describe('bench plan', () => {
  test('the model shapes are the real ones, heads of 64 dividing the hidden size', () => {
    expect(MODEL_SHAPES.map(({ model, hiddenSize, intermediateSize, layers, heads, kvHeads }) => [model, hiddenSize, intermediateSize, layers, heads, kvHeads])).toEqual([
      ['SmolLM2-135M', 576, 1536, 30, 9, 3],
      ['Qwen2.5-0.5B', 896, 4864, 24, 14, 2],
      ['Llama-3.2-1B', 2048, 8192, 16, 32, 8],
    ]);
    for (const s of MODEL_SHAPES) expect(s.hiddenSize / s.heads, s.model).toBe(64);
  });

  test('matmul cases keep each type where K is whole blocks of it and take llama.cpp’s fallback elsewhere', () => {
    const cases = matmulPlan(suiteConfig('full'));
    const stored = (kernel: string, type: string, K: number) => cases.filter((c) => c.kernel === kernel && c.type === type && c.K === K).map((c) => c.stored);
    expect(stored('gemv', 'Q4_K', 576)).toEqual(['Q5_0']);
    expect(stored('gemv', 'Q6_K', 896)).toEqual(['Q8_0']);
    expect(stored('gemm', 'Q4_K', 896)).toEqual(['Q5_0']);
    for (const K of [1536, 4864, 2048, 8192]) expect([...stored('gemv', 'Q4_K', K), ...stored('gemv', 'Q6_K', K)], `K=${K}`).toEqual(['Q4_K', 'Q6_K']);
    // The 32-weight types and floats divide every K here.
    for (const c of cases.filter((x) => !x.type.endsWith('_K'))) expect(c.stored, `${c.type} K=${c.K}`).toBe(c.type);
  });

  test('every shape runs both orientations, GEMVs before GEMMs, GEMMs over the prompt rows', () => {
    const config = suiteConfig('quick');
    const cases = matmulPlan(config);
    expect(cases).toHaveLength(config.shapes.length * 2 * (config.gemvTypes.length + config.gemmTypes.length));
    const first = cases.slice(0, config.gemvTypes.length + config.gemmTypes.length);
    expect(first.map((c) => `${c.kernel} ${c.type} ${c.M}x${c.K}→${c.N}`)).toEqual([
      ...config.gemvTypes.map((t) => `gemv ${t} 1x576→1536`),
      ...config.gemmTypes.map((t) => `gemm ${t} ${config.prefillRows}x576→1536`),
    ]);
    expect(cases.filter((c) => c.orientation === 'intermediate→hidden').every((c) => c.K === c.shape.intermediateSize && c.N === c.shape.hiddenSize)).toBe(true);
  });

  test('end-to-end models have the real layer shapes and say where their types fall back', () => {
    const quick = e2eSpecs('quick');
    expect(quick.map((s) => s.file)).toEqual(['SmolLM2-135M-2L-F32.gguf', 'SmolLM2-135M-2L-F16.gguf', 'SmolLM2-135M-2L-Q8_0.gguf', 'SmolLM2-135M-2L-Q4_K.gguf']);
    for (const s of quick) expect([s.hiddenSize, s.intermediateSize, s.heads, s.kvHeads, s.layers]).toEqual([576, 1536, 9, 3, 2]);
    const q4 = quick.find((s) => s.type === 'Q4_K')!;
    expect(q4.shapeNote).toBe(
      "2 of 30 layers; vocabulary 512 (stories260K tokenizer), so the LM head is small; Q5_0 in the matrices with rows of 576 (all but ffn_down), llama.cpp's fallback for Q4_K; no Q6_K matrices, where llama.cpp's Q4_K_M has attn_v and half of ffn_down in Q6_K",
    );
    expect(quick.find((s) => s.type === 'Q8_0')!.shapeNote).toBe('2 of 30 layers; vocabulary 512 (stories260K tokenizer), so the LM head is small');

    const full = e2eSpecs('full');
    const shapeOf = (model: string) => full.find((s) => s.model === model)!;
    expect(shapeOf('SmolLM2-135M').layers).toBe(30);
    expect(shapeOf('Qwen2.5-0.5B')).toMatchObject({ hiddenSize: 896, intermediateSize: 4864, heads: 14, kvHeads: 2, layers: 24 });
    expect(shapeOf('Llama-3.2-1B')).toMatchObject({ hiddenSize: 2048, intermediateSize: 8192, heads: 32, kvHeads: 8, layers: 16 });
    expect(full.find((s) => s.model === 'Qwen2.5-0.5B' && s.type === 'Q4_K')!.shapeNote).toContain('Q5_0 in the matrices with rows of 896');
    // 2048 and 8192 are whole super-blocks: the 1B shape's Q4_K file is Q4_K throughout.
    expect(full.find((s) => s.model === 'Llama-3.2-1B' && s.type === 'Q4_K')!.shapeNote).not.toContain('fallback');
    expect(new Set(full.map((s) => s.file)).size).toBe(full.length);
  });
});
