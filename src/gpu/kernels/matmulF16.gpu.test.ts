import { describe, expect, test } from 'vitest';
import { DeviceLimitError } from '../../protocol/errors.ts';
import { shapedFor, testGpu, withGpuErrors } from '../../../test/gpu.ts';
import { runF16Case } from '../../../test/matmulF16.ts';
import { uploadF32 } from '../buffers.ts';
import type { Gpu } from '../device.ts';
import { createF16Gemm, createF16Gemv, createPackedMatmul, hasShaderF16 } from './matmulF16.ts';
import { packedWeightBytes, uploadPackedWeight, type PackedMatmulOptions } from './packedWeights.ts';

// Whatever the device, createPackedMatmul hands back a kernel that computes the matmul: the
// f16 one with shader-f16 (matmulF16.dawn.test.ts holds it to its reference on lavapipe), the
// f32 one otherwise, which is what SwiftShader, in Chromium and in Node, gets here.
describe('createPackedMatmul', () => {
  test.each(['gemv', 'gemm'] as const)('%s: picks the kernel the device can run, and it matches the float64 reference', async (kernel) => {
    const gpu = await shapedFor('gpu');
    const create = (g: Gpu, o: PackedMatmulOptions) => createPackedMatmul(g, kernel, o);
    // The f16 bound of runF16Case is far above the f32 kernel's error, so it holds for both.
    const r = await runF16Case(gpu, create, { type: 'BF16', m: 3, K: 64, N: 21 });
    expect(r.count, r.table).toBe(0);
    const path = hasShaderF16(gpu) ? '_f16math' : '';
    expect(r.label).toBe(kernel === 'gemv' ? `gemv_bf16${path}_wg256_t4` : `gemm_bf16${path}_t64x64_k32`);
  });

  test('the f16 kernels refuse a device without shader-f16 with a DeviceLimitError', async (ctx) => {
    const gpu = await testGpu();
    ctx.skip(hasShaderF16(gpu), 'this device has shader-f16');
    await withGpuErrors(gpu, async () => {
      const [xb, yb] = [uploadF32(gpu, 'x', new Float32Array(64)), uploadF32(gpu, 'y', new Float32Array(4))];
      const wb = uploadPackedWeight(gpu, 'w', 'F16', new Uint8Array(packedWeightBytes('F16', 4, 64)), 4, 64);
      const o = { x: xb, w: wb, y: yb, K: 64, N: 4, type: 'F16' } as const;
      expect(() => createF16Gemv(gpu, o)).toThrow(DeviceLimitError);
      expect(() => createF16Gemm(gpu, o)).toThrow(DeviceLimitError);
      [xb, wb, yb].forEach((b) => b.destroy());
    });
  });
});
