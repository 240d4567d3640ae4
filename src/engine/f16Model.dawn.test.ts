// Whole models on the shader-f16 path: F16 and BF16 random-weight GGUFs (scripts/randomModel.ts)
// through our Engine on a device with shader-f16 (lavapipe, test/f16Gpu.ts), whose matmuls over
// those weights then run in f16 arithmetic (matmul_f16.wgsl), against llama.cpp on the same file
// and against our Engine on SwiftShader, which lacks shader-f16 and runs the same file through
// the f32 kernels every device has. The pipelines each run dispatched are recorded, so the test
// knows which path it measured.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { storiesTokenizerMetadata } from '../../scripts/randomGguf.ts';
import { RANDOM_MODELS, randomModel, type RandomModel } from '../../scripts/randomModel.ts';
import { agreement, dense, expectWithin, sequence, type Bounds } from '../../test/agreement.ts';
import { f16Entry } from '../../test/f16Gpu.ts';
import { referenceProbabilities } from '../../test/llamaCpp.ts';
import { diskLocation } from '../cli/nodeFiles.ts';
import { GgufType, ggmlTypeId, readGguf } from './formats/gguf.ts';
import { quantizeRow } from './formats/quant.ts';
import { bytesSource } from './formats/source.ts';
import { Engine } from './engine.ts';

const VOCAB = 512;
// A full 64-token prefill chunk and 8 tokens of a second, so the KV cache carries across a chunk
// boundary, at little more than one chunk's cost on the software GPUs.
const POSITIONS = 72;

type HalfType = 'F16' | 'BF16';

interface Case {
  preset: 'llama' | 'gpt2';
  type: HalfType;
  llamaCpp: Bounds;
}

/*
 * Our f16 path against our f32 path: the same file, and the same kernels but the matmuls over
 * the 16-bit weights, whose values both paths read exactly (a BF16 weight converts to f16
 * exactly but within 6e-5 of zero, f16's subnormals, where it moves by 3e-8 at most). The f16
 * kernels round each input to f16, each product, and each partial sum of eight products
 * (matmul_f16.wgsl) before the f32 accumulator. With u the RMS relative rounding error and t a
 * term's size, a dot product's error is then u·t times √K for the inputs, √K for the products
 * and √(K/8 · (2 + … + 8)) = 2.1√K for the partial sums (the j-th is the size of √j terms):
 * 2.5 times that of rounding the inputs alone, which is what llama.cpp's CPU F16
 * matmul does and what the F16 rows of reference.dawn.test.ts measure against our f32 kernels
 * (TV 2.4e-3 at worst, 7.1e-4 on average; the f32 path against llama.cpp here: 2.3e-3 to 2.8e-3
 * and 6.5e-4 to 9.6e-4). Predicted: TV 6e-3 at worst, 1.8e-3 on average; measured 4.9e-3 to
 * 8.5e-3 and 1.6e-3 to 2.1e-3. maxTv is twice the measured worst, rounded up. The mean over 72
 * positions is the steadier number (within 20% of the prediction in all four models), so meanTv
 * is 1.4 times the measured worst: a kernel that kept its running sum in f16 (an error growing
 * with √K instead of staying at a few roundings) measured 3.9e-3 to 4.9e-3 when planted.
 * A choice flips where the top two logits lie within the logit error of each other: that error is
 * 2.5 times the F16 rows' σ of 2.6e-3, so two logits' errors differ by more than 5√2σ ≈ 0.05 once
 * in millions (nearTie), and with ~0.5 top-two gaps per unit near zero (reference.dawn.test.ts)
 * flips come at ~0.4% of positions, 0.3 expected in 72 (measured: none): 95% allows three, the
 * 99.9th percentile of that count.
 * A real bug (an f16 overflow, the wrong half of a BF16 word, a lost partial sum) moves whole
 * distributions: TV of 0.3 or more and top-1 near chance.
 */
const F32_PATH: Bounds = { minTop1: 0.95, maxTv: 2e-2, meanTv: 3e-3, nearTie: 0.05 };

/*
 * Against llama.cpp, whose CPU F16 matmul rounds the inputs to f16 and sums in f32: its error and
 * ours are independent, √(1 + 2.5²) = 2.7 times the F16 rows' (predicted 6.5e-3 at worst, 1.9e-3
 * on average; measured 7.6e-3 to 9.1e-3 and 1.8e-3 to 1.9e-3, gpt2's f16 GELU table on llama.cpp's
 * side included; 4.0e-3 to 4.7e-3 on average with the planted f16 running sum). The bounds above
 * hold with the same reasoning.
 * BF16: llama.cpp's CPU rounds the input of a BF16 matmul to bf16 (its vec_dot_type), 2^−8
 * relative, eight times f16's, so its own error dominates: √(8² + 2.5²) = 8.4 times the F16 rows'
 * (predicted 2.0e-2 at worst, 6.0e-3 on average; measured 1.85e-2 and 1.95e-2, 5.2e-3 and
 * 6.9e-3, and our f32 path alone 1.6e-2 to 1.7e-2 and 5.0e-3 to 6.5e-3). maxTv and meanTv are
 * twice the measured worst, rounded up; σ ≈ 2.2e-2, so a miss must be a near-tie under
 * 5√2σ ≈ 0.16, flips come at ~1.2% of positions, 0.9 expected in 72 (measured: none), and 93%
 * allows five, the 99.9th percentile of that count.
 */
const F16_LLAMA_CPP: Bounds = F32_PATH;
const BF16_LLAMA_CPP: Bounds = { minTop1: 0.93, maxTv: 4e-2, meanTv: 1.4e-2, nearTie: 0.16 };

// Llama (RMSNorm, SwiGLU, RoPE, GQA, untied head) in both types; gpt2 adds GELU, biases on every
// projection, LayerNorm, learned positions and a head tied to the 16-bit embedding.
const CASES: Case[] = [
  { preset: 'llama', type: 'F16', llamaCpp: F16_LLAMA_CPP },
  { preset: 'llama', type: 'BF16', llamaCpp: BF16_LLAMA_CPP },
  { preset: 'gpt2', type: 'F16', llamaCpp: F16_LLAMA_CPP },
  { preset: 'gpt2', type: 'BF16', llamaCpp: BF16_LLAMA_CPP },
];

/** llama.cpp's llama_ftype LLAMA_FTYPE_MOSTLY_BF16 (general.file_type). */
const FTYPE_MOSTLY_BF16 = 32;

function u64le(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** The one place `pattern` occurs in `bytes`, just past its end; throws unless it occurs exactly once. */
function patchAt(bytes: Buffer, pattern: Buffer, what: string): number {
  const at = bytes.indexOf(pattern);
  if (at < 0 || bytes.lastIndexOf(pattern) !== at) throw new Error(`bf16Twin: ${what} occurs ${at < 0 ? 'nowhere' : 'more than once'} in the header`);
  return at + pattern.length;
}

/**
 * The BF16 GGUF of an F16 model from randomModel (whose writer makes no BF16 files). Both types
 * take two bytes a value, so the layout and every offset stay: each F16 tensor's directory entry
 * gets BF16's type id and its data the bf16 rounding of the model's f32 values (not of their f16
 * rounding, which would round twice), and general.file_type becomes MOSTLY_BF16.
 */
async function bf16Twin(model: RandomModel): Promise<Uint8Array> {
  const f16 = model.gguf();
  const file = await readGguf(bytesSource('f16', f16));
  const out = Buffer.from(f16);
  const header = out.subarray(0, file.dataOffset);
  const ftypeKey = 'general.file_type';
  out.writeUInt32LE(FTYPE_MOSTLY_BF16, patchAt(header, Buffer.concat([u64le(ftypeKey.length), Buffer.from(ftypeKey), u32le(GgufType.U32)]), ftypeKey));
  for (const t of file.tensors) {
    if (t.dtype !== 'F16') continue;
    // A directory entry: name (u64 length, bytes), dimension count, ne[] innermost first, type id.
    const entry = Buffer.concat([u64le(t.name.length), Buffer.from(t.name), u32le(t.shape.length), ...t.shape.toReversed().map(u64le), u32le(ggmlTypeId('F16')!)]);
    out.writeUInt32LE(ggmlTypeId('BF16')!, patchAt(header, entry, t.name) - 4);
    const values = model.tensors.find((m) => m.name === t.name)!.data;
    out.set(quantizeRow('BF16', values), t.offset);
  }
  const twin = await readGguf(bytesSource('bf16', out));
  const types = new Set(twin.tensors.map((t) => t.dtype));
  if (types.has('F16') || !types.has('BF16')) throw new Error(`bf16Twin: the twin holds ${[...types].join(', ')}`);
  return out;
}

/**
 * `entry` with the label of every pipeline its devices' compute passes set recorded in `used`:
 * the variant key (src/gpu/pipelines.ts), which names the kernel, the weight type and whether it
 * is the f16-arithmetic one. Recording what was dispatched, not what was compiled, holds each
 * model to its own run although the engine's pipeline cache outlives it.
 */
function recordingPipelines(entry: GPU): { gpu: GPU; used: Set<string> } {
  const used = new Set<string>();
  const watchPass = (pass: GPUComputePassEncoder) => {
    const setPipeline = pass.setPipeline.bind(pass);
    pass.setPipeline = (pipeline) => {
      used.add(pipeline.label);
      setPipeline(pipeline);
    };
    return pass;
  };
  const watchDevice = (device: GPUDevice) => {
    const createCommandEncoder = device.createCommandEncoder.bind(device);
    device.createCommandEncoder = (descriptor) => {
      const encoder = createCommandEncoder(descriptor);
      const beginComputePass = encoder.beginComputePass.bind(encoder);
      encoder.beginComputePass = (d) => watchPass(beginComputePass(d));
      return encoder;
    };
    return device;
  };
  const gpu = new Proxy(entry, {
    get(target, p) {
      if (p === 'requestAdapter')
        return async (options?: GPURequestAdapterOptions) => {
          const adapter = await target.requestAdapter(options);
          if (adapter) {
            const requestDevice = adapter.requestDevice.bind(adapter);
            adapter.requestDevice = async (d) => watchDevice(await requestDevice(d));
          }
          return adapter;
        };
      const v = Reflect.get(target, p, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { gpu, used };
}

/** The matmuls over weights of `type` among `labels`: gemv_f16_…, gemm_bf16_f16math_…. */
function halfMatmuls(labels: Set<string>, type: HalfType): string[] {
  const prefix = new RegExp(`^(gemm|gemv)_${type.toLowerCase()}_`);
  return [...labels].filter((l) => prefix.test(l)).sort();
}

// Without lavapipe, f16Entry may be this process's own adapter (a real GPU picked with
// VK_ICD_FILENAMES): then no device here runs the f32 path to compare with.
const found = await f16Entry();
const f16 = found === navigator.gpu ? 'the only shader-f16 adapter is the one the f32 path would run on (no lavapipe: run scripts/lavapipe.sh)' : found;
if (typeof f16 === 'string') console.warn(`f16Model.dawn.test.ts: skipped: ${f16}`);

type Side = 'f16' | 'f32';

describe.skipIf(typeof f16 === 'string')('whole models on the shader-f16 path', () => {
  // One engine per device for every case: pipelines compiled for one serve the next.
  let sides: Record<Side, { engine: Engine; used: Set<string> }>;
  const ids = sequence(11, POSITIONS, VOCAB);
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pocket-hub-f16-model-'));
    const [onF16, onF32] = [recordingPipelines(f16 as GPU), recordingPipelines(navigator.gpu)];
    sides = {
      f16: { engine: new Engine({ gpu: onF16.gpu }), used: onF16.used },
      f32: { engine: new Engine({ gpu: onF32.gpu }), used: onF32.used },
    };
  });
  afterAll(async () => {
    await sides.f16.engine.unload();
    await sides.f32.engine.unload();
  });

  /** Our distributions for `ids` and the pipelines that load and run dispatched, with an f32 KV cache as llama.cpp's here. */
  async function ours(side: Side, path: string): Promise<{ probabilities: Float64Array[]; used: Set<string> }> {
    const { engine, used } = sides[side];
    used.clear();
    await engine.loadFrom(await diskLocation(path), { kvCache: 'f32' });
    const probabilities = dense((await engine.score(ids, { topK: VOCAB })).positions.map((p) => p.top), VOCAB);
    return { probabilities, used: new Set(used) };
  }

  test.each(CASES)(`$preset $type: ${POSITIONS} teacher-forced positions on lavapipe's f16 kernels, against llama.cpp and the f32 path`, async ({ preset, type, llamaCpp }) => {
    const model = randomModel(await storiesTokenizerMetadata(), { ...RANDOM_MODELS[preset], type: 'F16' });
    const path = join(dir, `${preset}-${type}.gguf`);
    await writeFile(path, type === 'F16' ? model.gguf() : await bf16Twin(model));

    // Three engines on separate devices and threads: running them at once keeps the file's time
    // to SwiftShader's, which compiling the f32 path's pipelines dominates.
    const [f16Run, f32Run, reference] = await Promise.all([
      ours('f16', path),
      ours('f32', path),
      referenceProbabilities(path, ids, VOCAB).then((r) => dense(r, VOCAB)),
    ]);

    // Every matmul over the file's 16-bit weights ran in f16 on lavapipe (prefill's GEMM, the
    // warm-up token's GEMV), and none did on SwiftShader.
    const f16Kernels = halfMatmuls(f16Run.used, type);
    const f32Kernels = halfMatmuls(f32Run.used, type);
    const kinds = (labels: string[]) => [...new Set(labels.map((l) => l.split('_')[0]))];
    expect(kinds(f16Kernels), f16Kernels.join(', ')).toEqual(['gemm', 'gemv']);
    expect(f16Kernels.every((l) => l.includes('_f16math_')), f16Kernels.join(', ')).toBe(true);
    expect(kinds(f32Kernels), f32Kernels.join(', ')).toEqual(['gemm', 'gemv']);
    expect(f32Kernels.some((l) => l.includes('_f16math_')), f32Kernels.join(', ')).toBe(false);

    const vsF32 = agreement(f16Run.probabilities, f32Run.probabilities);
    const vsLlamaCpp = agreement(f16Run.probabilities, reference);
    // Not asserted: the f32 path's own distance from llama.cpp, the scale the bounds above are
    // set against (reference.dawn.test.ts holds the F16 Llama one).
    const f32VsLlamaCpp = agreement(f32Run.probabilities, reference);
    console.log(
      `${preset} ${type}: f16 path (${f16Kernels.join(', ')}) against the f32 path ${vsF32.summary}; against llama.cpp ${vsLlamaCpp.summary}; ` +
        `f32 path against llama.cpp ${f32VsLlamaCpp.summary}`,
    );
    expectWithin(vsF32, F32_PATH, 'the f32 path');
    expectWithin(vsLlamaCpp, llamaCpp, 'llama.cpp');
  });
});
