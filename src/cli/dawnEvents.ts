/**
 * Paces Dawn's event polling in Node.
 *
 * While any promise of Dawn for Node is pending (mapAsync, onSubmittedWorkDone, pipeline
 * creation), its AsyncRunner polls for completion by calling the global `setImmediate` with a
 * native callback that schedules itself again: a busy loop that holds a whole core for as long
 * as the GPU works. On a real GPU that is a few milliseconds per token; on a software Vulkan
 * (SwiftShader, lavapipe) the "GPU" is the CPU, and the loop takes the core the driver's own
 * threads need. Measured on 2 cores with stories260K: 20 → 29 decode tok/s alone, and
 * 7.6 → 19 tok/s with two processes at once.
 *
 * The loop spins as before for its first SPIN_MS, so short waits on a real GPU keep their
 * latency, and then polls once per timer tick (about 1 ms) until the work is done.
 */

/** How long a chain of polls runs back to back before it yields the CPU between polls. */
const SPIN_MS = 2;

const PACED = Symbol.for('pocket-hub.dawnEventsPaced');

type Immediate = typeof globalThis.setImmediate;

/**
 * Installs the pacing once per process; idempotent. Dawn looks the global up on every poll,
 * so this takes effect for instances created before or after it.
 */
export function paceDawnEvents(): void {
  const g = globalThis as typeof globalThis & { [PACED]?: true };
  if (g[PACED]) return;
  g[PACED] = true;
  const immediate: Immediate = g.setImmediate;
  const nativeSource = Function.prototype.toString;
  /**
   * When the running chain of polls began; undefined when none is running. Shared by every Dawn
   * instance: two polling at once may restart each other's spin, which costs only a little CPU.
   */
  let chainStart: number | undefined;
  let rescheduled = false;

  const paced = function (this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]) {
    // Dawn's poll is a native function passed alone. A bound function passed alone looks the
    // same; it too spins at once, and is paced only when it keeps rescheduling itself past
    // SPIN_MS, as a poll loop does. Every other call keeps the exact behaviour.
    if (args.length > 0 || typeof callback !== 'function' || !nativeSource.call(callback).includes('[native code]')) {
      return immediate(callback, ...args);
    }
    const now = performance.now();
    chainStart ??= now;
    rescheduled = true;
    const poll = () => {
      rescheduled = false;
      callback();
      // Dawn schedules the next poll from inside this one while work is pending; when it
      // did not, the wait is over and the next wait spins again.
      if (!rescheduled) chainStart = undefined;
    };
    // A paced poll's handle is a Timeout: clearImmediate cannot cancel it (Dawn never cancels).
    return now - chainStart < SPIN_MS ? immediate(poll) : (setTimeout(poll, 0) as unknown as NodeJS.Immediate);
  };
  g.setImmediate = Object.assign(paced, { __promisify__: immediate.__promisify__ }) as Immediate;
}
