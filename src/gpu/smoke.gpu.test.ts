import { expect, test } from 'vitest';
import { testGpu, withGpuErrors } from '../../test/gpu.ts';
import { readF32, uploadF32 } from './buffers.ts';

test('device round-trips a buffer', async () => {
  const gpu = await testGpu();
  const out = await withGpuErrors(gpu, async () => readF32(gpu, uploadF32(gpu, 'x', new Float32Array([1, 2, 3]))));
  expect([...out]).toEqual([1, 2, 3]);
});
