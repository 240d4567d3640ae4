import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { fsStore } from './fsStore.ts';
import { storeContractTests } from '../../test/storeContract.ts';

describe('fsStore', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  storeContractTests(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pocket-hub-fs-store-'));
    dirs.push(dir);
    return fsStore(dir);
  });
});
