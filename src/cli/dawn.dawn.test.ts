// The CLI's Dawn entry on this machine's software Vulkan (SwiftShader, as CI has): its event
// polling must be paced (dawnEvents.ts). Run in a process of its own, since the test setup
// paces every test process whatever the adapter.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

test('on a software adapter, dawnGpu paces Dawn event polling', async () => {
  const script = [
    "const { dawnGpu } = await import('./src/cli/dawn.ts');",
    'const gpu = await dawnGpu();',
    "const { describeAdapter, isSoftwareAdapter } = await import('./src/gpu/device.ts');",
    'const info = (await gpu.requestAdapter()).info;',
    "console.log(JSON.stringify({ adapter: describeAdapter(info), software: isSoftwareAdapter(info), paced: globalThis[Symbol.for('pocket-hub.dawnEventsPaced')] === true }));",
    'process.exit(0);',
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
  expect(result.software, result.adapter).toBe(true);
  expect(result.paced, result.adapter).toBe(true);
});
