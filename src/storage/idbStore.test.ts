import { expect, it } from 'vitest';
import { withFileLock } from './idbStore.ts';

// Node 20 has no navigator.locks, so this runs the in-process fallback, which must
// serialise the same way Web Locks do.
it('serialises callers on one file without Web Locks, and survives a throwing holder', async () => {
  const key = { repo: 'org/name', commit: 'abc', path: 'model.gguf' };
  const events: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const first = withFileLock(key, async () => {
    events.push('first start');
    await gate;
    throw new Error('first failed');
  });
  const second = withFileLock(key, async () => {
    events.push('second start');
    return 2;
  });
  expect(await withFileLock({ ...key, path: 'other.gguf' }, async () => 'other')).toBe('other');
  expect(events).toEqual(['first start']);
  release();
  await expect(first).rejects.toThrow('first failed');
  expect(await second).toBe(2);
  expect(events).toEqual(['first start', 'second start']);
});
