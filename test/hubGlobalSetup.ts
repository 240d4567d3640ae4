// Browser tests cannot open sockets, so the local hub they load from is started here, in
// Node, once per run; they find it with inject('tinyHub'). Its repo holds pattern bytes
// (test/storeContract.ts) of the sizes it provides, so a test knows every file's content.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startHubServer } from './hubServer.ts';
import { pattern } from './storeContract.ts';

const REPO = 'org/tiny';
// The weights are LFS (by extension) and span several of the small chunks tests choose.
const FILES = { 'config.json': 40, 'tokenizer.json': 300, 'model.safetensors': 200 * 1024 };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await mkdtemp(join(tmpdir(), 'pocket-hub-browser-hub-'));
  await mkdir(join(root, REPO), { recursive: true });
  for (const [path, size] of Object.entries(FILES)) await writeFile(join(root, REPO, path), pattern(0, size));
  const hub = await startHubServer({ root });
  project.provide('tinyHub', { url: hub.url, repo: REPO, files: FILES });
  return async () => {
    await hub.close();
    await rm(root, { recursive: true, force: true });
  };
}
