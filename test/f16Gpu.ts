// A device with shader-f16 for Node tests of the f16 kernels. The other Node tests run on
// SwiftShader (test/setup-dawn.ts), which has no shader-f16; Mesa's lavapipe from
// bookworm-backports has it, and scripts/lavapipe.sh fetches it into .cache/lavapipe/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { create } from 'webgpu';
import { createGpu, type Gpu } from '../src/gpu/device.ts';

export const LAVAPIPE_ICD = join(import.meta.dirname, '..', '.cache', 'lavapipe', 'icd.json');

/** A device with shader-f16 and the WebGPU entry point it came from. */
interface F16Device {
  gpu: Gpu;
  entry: GPU;
}

let shared: Promise<F16Device | string> | undefined;
// Held for the life of the process: Dawn's event loop keeps polling an instance whose JS object
// was garbage-collected, and crashes in InstanceBase::ProcessEvents on its freed mutex.
let instance: GPU | undefined;

/**
 * A Dawn device on lavapipe, or, without it, on the adapter the other tests use when that one
 * has shader-f16 (a real GPU picked with VK_ICD_FILENAMES). Otherwise the reason there is none,
 * which the caller prints and skips on.
 */
export async function f16Gpu(): Promise<Gpu | string> {
  const opened = await openShared();
  return typeof opened === 'string' ? opened : opened.gpu;
}

/**
 * The WebGPU entry point f16Gpu's device came from, for code that opens devices of its own
 * (`new Engine({ gpu })`): its adapter has shader-f16, and on lavapipe it keeps seeing lavapipe
 * after VK_ICD_FILENAMES is put back, since a Dawn instance lists its adapters once, when
 * f16Gpu first asks. Otherwise the reason there is none, as f16Gpu.
 */
export async function f16Entry(): Promise<GPU | string> {
  const opened = await openShared();
  return typeof opened === 'string' ? opened : opened.entry;
}

function openShared(): Promise<F16Device | string> {
  shared ??= open();
  return shared;
}

async function open(): Promise<F16Device | string> {
  if (existsSync(LAVAPIPE_ICD)) {
    // Dawn reads VK_ICD_FILENAMES when an instance looks for adapters, so this instance sees
    // lavapipe alone while the process's navigator.gpu keeps its own driver.
    const previous = process.env.VK_ICD_FILENAMES;
    process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
    try {
      instance = create([]);
      const gpu = await createGpu(instance);
      if (gpu.device.features.has('shader-f16')) return { gpu, entry: instance };
      gpu.device.destroy();
      return `the lavapipe adapter (${gpu.adapterName}) has no shader-f16`;
    } catch (err) {
      return `Dawn could not open a device on ${LAVAPIPE_ICD}: ${(err as Error).message}`;
    } finally {
      if (previous === undefined) delete process.env.VK_ICD_FILENAMES;
      else process.env.VK_ICD_FILENAMES = previous;
    }
  }
  const adapter = await globalThis.navigator?.gpu?.requestAdapter();
  if (adapter?.features.has('shader-f16')) return { gpu: await createGpu(globalThis.navigator.gpu), entry: globalThis.navigator.gpu };
  return `no adapter with shader-f16: ${LAVAPIPE_ICD} is missing (run scripts/lavapipe.sh; CI does) and this process's adapter lacks it`;
}
