/**
 * Apm: the Advanced Power Management control/status ports B2h (APMC) and B3h (APMS)
 * decoded by the PIIX/PIIX4 south bridge.
 *
 * Follows the Intel 82371AB (PIIX4) datasheet section 3.3 (APMC: writing it can raise
 * SMI when DEVACTB.APMC_EN is set; APMS: a scratch byte for the BIOS/OS handshake) and
 * QEMU's hw/isa/apm.c, which reports every APMC write to the power-management function.
 * On QEMU-compatible boards that is where ACPI enable/disable arrive: the FADT names
 * SMI_CMD = B2h with ACPI_ENABLE = F1h and ACPI_DISABLE = F0h, and SeaBIOS uses APMS
 * for its SMM relocation handshake.
 *
 * Both ports are byte registers (wider accesses are split by the bus). Left out: SMI
 * generation itself (the callback owner decides, see Piix4Pm.apmCommand).
 */
import type { AccessSize, Device, DeviceState, IoHandler } from '../device.js';

/** Construction options. */
export interface ApmOptions {
  readonly id?: string;
  /** Called with every byte written to APMC (port B2h). */
  readonly onControlWrite?: (value: number) => void;
}

/** The APM control/status register pair (2 ports: APMC at +0, APMS at +1). */
export class Apm implements Device {
  readonly id: string;
  /** The handler to map at B2h, length 2. */
  readonly io: IoHandler;
  private control = 0;
  private status = 0;
  private readonly onControlWrite: ((value: number) => void) | undefined;

  constructor(opts: ApmOptions = {}) {
    this.id = opts.id ?? 'apm';
    this.onControlWrite = opts.onControlWrite;
    this.io = {
      minSize: 1, maxSize: 1,
      read: (offset: number, _size: AccessSize) => (offset === 0 ? this.control : this.status),
      write: (offset: number, _size: AccessSize, value: number) => {
        if (offset === 0) {
          this.control = value & 0xff;
          this.onControlWrite?.(this.control);
        } else {
          this.status = value & 0xff;
        }
      },
    };
  }

  /** Clears both registers. */
  reset(): void {
    this.control = 0;
    this.status = 0;
  }

  /** `{ v: 1, control, status }`. */
  saveState(): DeviceState {
    return { v: 1, control: this.control, status: this.status };
  }

  /** Validates, then applies, a state from `saveState`. */
  loadState(state: unknown): void {
    if (typeof state !== 'object' || state === null) throw new TypeError(`${this.id}: state must be an object`);
    const s = state as Record<string, unknown>;
    if (s['v'] !== 1) throw new TypeError(`${this.id}: unsupported state version ${String(s['v'])}`);
    const byte = (name: string): number => {
      const v = s[name];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xff) throw new TypeError(`${this.id}: ${name} must be a byte`);
      return v;
    };
    const control = byte('control');
    const status = byte('status');
    this.control = control;
    this.status = status;
  }
}
