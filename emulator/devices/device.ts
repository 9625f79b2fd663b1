/**
 * The contracts every device implements and receives.
 *
 * A device sees offsets, never absolute addresses (the board decides where it sits),
 * and receives everything it touches by injection: IRQ lines, the clock and scheduler,
 * guest memory for DMA, host backends. No module-level state.
 */

/** Width of a port or MMIO access in bytes. */
export type AccessSize = 1 | 2 | 4;

/** A port-I/O or MMIO handler. Offsets are relative to the region's base. */
export interface IoHandler {
  /** Smallest access size the handler implements (the bus splits/merges others). */
  readonly minSize: AccessSize;
  /** Largest access size the handler implements. */
  readonly maxSize: AccessSize;
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

/** An interrupt request line from a device to an interrupt controller. */
export interface IrqLine {
  /** Drives the line's level (level-triggered devices, and edges as 0->1). */
  set(level: boolean): void;
  /** Raises then lowers the line: one edge for edge-triggered inputs. */
  pulse(): void;
}

/** Plain, versioned, JSON-serialisable device state: `{ v, ...named fields }`. */
export interface DeviceState {
  readonly v: number;
  readonly [field: string]: unknown;
}

/** Kinds of reset a device distinguishes. */
export type ResetKind = 'power-on' | 'hard';

/** Life-cycle contract of every device. */
export interface Device {
  /** Stable id used as the key of its state in snapshots (e.g. "i8259.master"). */
  readonly id: string;
  reset(kind: ResetKind): void;
  saveState(): DeviceState;
  /** `state` is untrusted: validate it fully before touching live fields; throw on bad input. */
  loadState(state: unknown): void;
}

/** Makes an IrqLine from a setter, with `pulse` derived. */
export function irqLine(set: (level: boolean) => void): IrqLine {
  return { set, pulse: () => { set(true); set(false); } };
}
