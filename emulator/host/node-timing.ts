/**
 * Node implementation of HostTiming: performance.now() for time, setImmediate to yield,
 * a wakeable setTimeout for sleeps.
 */
import { setImmediate as yieldImmediate } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { HostTiming } from '../machine/host-timing.js';

/** Creates the Node host timing source for one machine. */
export function createNodeTiming(): HostTiming {
  let wakeSleeper: (() => void) | undefined;
  return {
    nowMs: () => performance.now(),
    yield: async () => { await yieldImmediate(); },
    sleep: (ms) => new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(t); wakeSleeper = undefined; resolve(); };
      const t = setTimeout(done, Math.max(0, ms));
      wakeSleeper = done;
    }),
    wake: () => { wakeSleeper?.(); },
  };
}
