import { expect, test } from 'vitest';
import { paceDawnEvents } from './dawnEvents.ts';

paceDawnEvents();

/** Holds the CPU, as a poll does while the GPU has not finished. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/**
 * A chain of polls like Dawn's: a native function (a bound one prints as native code too) that
 * schedules itself again from inside itself `polls` times. Resolves with the kind of handle
 * each scheduling got back: 'Immediate' (spun at once) or 'Timeout' (waited for a timer tick).
 */
function chain(polls: number, msPerPoll: number): Promise<string[]> {
  const kinds: string[] = [];
  return new Promise((resolve) => {
    let left = polls;
    const poll = function () {
      busy(msPerPoll);
      if (--left === 0) return resolve(kinds);
      kinds.push(setImmediate(native).constructor.name);
    };
    const native = poll.bind(null);
    kinds.push(setImmediate(native).constructor.name);
  });
}

test('a long chain of native polls spins first, then yields between polls', async () => {
  const kinds = await chain(8, 1);
  expect(kinds).toHaveLength(8);
  // The chain starts with no time spent, so its first poll spins whatever the machine's load.
  expect(kinds[0]).toBe('Immediate');
  // Each poll holds the CPU at least 1 ms, so from the fourth on the chain is past the 2 ms spin
  // (a loaded machine only makes it older), and once paced it stays paced.
  expect(kinds.slice(4)).toEqual(['Timeout', 'Timeout', 'Timeout', 'Timeout']);
  expect(kinds.slice(kinds.indexOf('Timeout'))).not.toContain('Immediate');
});

test('a new wait after a finished chain spins again', async () => {
  await chain(6, 1);
  expect((await chain(2, 0))[0]).toBe('Immediate');
});

test('ordinary callbacks keep setImmediate as it was: arguments, order, handle', async () => {
  const order: string[] = [];
  const handle = setImmediate((a: string, b: number) => order.push(`${a}${b}`), 'x', 1);
  setImmediate(() => order.push('second'));
  expect(handle.constructor.name).toBe('Immediate');
  await new Promise((resolve) => setImmediate(resolve));
  expect(order).toEqual(['x1', 'second']);
});
