/**
 * Shared helpers for device tests: fast-check arbitraries for random port access
 * sequences, a driver that replays them against IoHandlers, and the snapshot
 * round-trip check (save -> JSON -> load into a fresh instance -> save, identical).
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { AccessSize, Device, IoHandler } from '../devices/device.js';

/** One random access against a set of handlers. */
export interface Access {
  /** Index of the handler in the list passed to `replay`. */
  readonly handler: number;
  readonly offset: number;
  readonly size: AccessSize;
  readonly write: boolean;
  readonly value: number;
  /** Virtual nanoseconds to step the clock before the access (0 = none). */
  readonly stepNs: number;
}

/**
 * Random accesses to `handlerCount` handlers whose offsets lie in [0, span).
 * Values lean towards interesting bytes (0, 0xff, command-like values).
 */
export function accessArb(handlerCount: number, span: number, maxStepNs = 2_000_000): fc.Arbitrary<Access> {
  return fc.record({
    handler: fc.integer({ min: 0, max: handlerCount - 1 }),
    offset: fc.integer({ min: 0, max: Math.max(0, span - 1) }),
    size: fc.constantFrom<AccessSize>(1, 1, 1, 2, 4),
    write: fc.boolean(),
    value: fc.oneof(fc.integer({ min: 0, max: 0xff }), fc.constantFrom(0, 0xff, 0xaa, 0x55, 0x80, 0x01, 0x10, 0x20), fc.nat()),
    stepNs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: maxStepNs })),
  });
}

/** Replays accesses; `step` advances the virtual clock. Sizes above a handler's max are sent as bytes. */
export function replay(handlers: readonly { h: IoHandler; span: number }[], seq: readonly Access[], step?: (ns: number) => void): void {
  for (const a of seq) {
    if (a.stepNs > 0 && step) step(a.stepNs);
    const t = handlers[a.handler % handlers.length]!;
    const offset = a.offset % t.span;
    const size: AccessSize = a.size > t.h.maxSize || a.size < t.h.minSize ? t.h.minSize : a.size;
    if (a.write) t.h.write(offset, size, a.value & (size === 4 ? 0xffffffff : (1 << (size * 8)) - 1));
    else t.h.read(offset, size);
  }
}

/** Save -> JSON -> load into `fresh` -> save: both saves must be identical. */
export function expectRoundTrip(device: Device, fresh: Device): void {
  const first = device.saveState();
  const json = JSON.stringify(first);
  fresh.loadState(JSON.parse(json));
  expect(JSON.stringify(fresh.saveState())).toBe(json);
}
