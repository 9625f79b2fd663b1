/**
 * National Semiconductor PC16550D UART (the "16550A" of PC serial ports COM1-COM4).
 *
 * Follows: PC16550D datasheet (National/TI SNLS378), "Register Addresses" table,
 * 8.4 Line Control Register, 8.6 Line Status Register, 8.7 FIFO Control Register,
 * 8.8 Interrupt Identification Register (priorities: receiver line status > received
 * data available / character timeout > THR empty > modem status; reading IIR clears a
 * pending THRE interrupt), 8.9 Interrupt Enable Register, 8.10 Modem Control Register
 * (loopback: TX to RX, RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD), 8.11 Modem Status
 * Register, 8.12 Scratchpad; QEMU hw/char/serial.c for what Linux's 8250 driver and
 * Windows serial.sys depend on (THRE interrupt raised when ETBEI is enabled while THR is
 * empty; the IRQ is not gated by OUT2; power-on MCR has OUT2 set).
 *
 * Transmission is instantaneous: a byte written to THR goes to the sink at once, and the
 * transmitter is empty again before the write returns (LSR THRE and TEMT set, THRE
 * interrupt pending). Linux's driver handles this like a very fast line.
 * Reception: `receive(bytes)` queues host bytes (bounded; returns how many it took); the
 * UART moves them into its FIFO (16 bytes, or the single RBR when FIFOs are off) as
 * space frees up, so the host never overruns the guest. Character timeout uses the
 * injected Scheduler: four character times at the programmed baud rate and frame.
 *
 * Leaves out: parity/framing/break errors on host input (the host link is error-free;
 * loopback overruns do set OE), DMA mode signalling (FCR bit 3 is stored), the 16750's
 * 64-byte FIFO, and line speed pacing of output.
 */
import type { Clock, Scheduler, TimerHandle } from '../../time/clock.js';
import type { AccessSize, Device, DeviceState, IoHandler, IrqLine, ResetKind } from '../device.js';
import { ByteFifo } from './byte-fifo.js';
import { bool, int, ints, numOrNull, obj, version } from '../state-check.js';

/** Offset 0: receiver buffer (read), transmitter holding (write), divisor latch LSB (DLAB=1). */
export const UART_RX = 0;
/** Interrupt enable register (DLM when DLAB=1). */
export const UART_IER = 1;
/** Interrupt identification (read) / FIFO control (write). */
export const UART_IIR = 2;
/** FIFO control register (write side of offset 2). */
export const UART_FCR = 2;
/** Line control register. */
export const UART_LCR = 3;
/** Modem control register. */
export const UART_MCR = 4;
/** Line status register. */
export const UART_LSR = 5;
/** Modem status register. */
export const UART_MSR = 6;
/** Scratch register. */
export const UART_SCR = 7;

/** IER: received data available. */
export const UART_IER_RDI = 0x01;
/** IER: transmitter holding register empty. */
export const UART_IER_THRI = 0x02;
/** IER: receiver line status. */
export const UART_IER_RLSI = 0x04;
/** IER: modem status. */
export const UART_IER_MSI = 0x08;

/** IIR: no interrupt pending. */
export const UART_IIR_NO_INT = 0x01;
/** IIR: modem status. */
export const UART_IIR_MSI = 0x00;
/** IIR: THR empty. */
export const UART_IIR_THRI = 0x02;
/** IIR: received data available. */
export const UART_IIR_RDI = 0x04;
/** IIR: receiver line status. */
export const UART_IIR_RLSI = 0x06;
/** IIR: character timeout. */
export const UART_IIR_CTI = 0x0c;
/** IIR: FIFOs enabled (bits 7-6). */
export const UART_IIR_FE = 0xc0;

/** FCR: FIFO enable. */
export const UART_FCR_FE = 0x01;
/** FCR: clear receive FIFO. */
export const UART_FCR_RFR = 0x02;
/** FCR: clear transmit FIFO. */
export const UART_FCR_XFR = 0x04;
/** FCR: DMA mode select. */
export const UART_FCR_DMS = 0x08;
/** FCR: receiver trigger level bits. */
export const UART_FCR_ITL = 0xc0;

/** LCR: divisor latch access. */
export const UART_LCR_DLAB = 0x80;
/** LCR: set break. */
export const UART_LCR_SB = 0x40;

/** MCR: data terminal ready. */
export const UART_MCR_DTR = 0x01;
/** MCR: request to send. */
export const UART_MCR_RTS = 0x02;
/** MCR: OUT1. */
export const UART_MCR_OUT1 = 0x04;
/** MCR: OUT2 (on PCs: IRQ driver enable). */
export const UART_MCR_OUT2 = 0x08;
/** MCR: loopback. */
export const UART_MCR_LOOP = 0x10;

/** LSR: data ready. */
export const UART_LSR_DR = 0x01;
/** LSR: overrun error. */
export const UART_LSR_OE = 0x02;
/** LSR: parity error. */
export const UART_LSR_PE = 0x04;
/** LSR: framing error. */
export const UART_LSR_FE = 0x08;
/** LSR: break interrupt. */
export const UART_LSR_BI = 0x10;
/** LSR: THR empty. */
export const UART_LSR_THRE = 0x20;
/** LSR: transmitter empty. */
export const UART_LSR_TEMT = 0x40;
/** LSR: error in receive FIFO. */
export const UART_LSR_FIFOE = 0x80;
const UART_LSR_INT_ANY = UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI;

/** MSR: delta CTS. */
export const UART_MSR_DCTS = 0x01;
/** MSR: delta DSR. */
export const UART_MSR_DDSR = 0x02;
/** MSR: trailing edge ring indicator. */
export const UART_MSR_TERI = 0x04;
/** MSR: delta DCD. */
export const UART_MSR_DDCD = 0x08;
/** MSR: clear to send. */
export const UART_MSR_CTS = 0x10;
/** MSR: data set ready. */
export const UART_MSR_DSR = 0x20;
/** MSR: ring indicator. */
export const UART_MSR_RI = 0x40;
/** MSR: data carrier detect. */
export const UART_MSR_DCD = 0x80;
const UART_MSR_ANY_DELTA = 0x0f;

/** Input clock / 16: the baud rate for divisor 1. */
export const UART_BASE_BAUD = 115200;
const FIFO_SIZE = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14];

/** Dependencies of Uart16550. */
export interface Uart16550Options {
  irq: IrqLine;
  clock: Clock;
  scheduler: Scheduler;
  /** Receives every transmitted byte (not called in loopback mode). */
  sink: (byte: number) => void;
  /** Most host bytes `receive` keeps queued (default 65536). */
  maxQueuedBytes?: number;
  /** Called when the host queue has been drained into the guest (resume sending). */
  onRxDrained?: () => void;
  /** Optional logger for guest misuse (rate-limit there). */
  log?: (message: string) => void;
  /** Device id (default "uart16550"). */
  id?: string;
}

/** A 16550A. Register `io` at a COM port base (0x3f8, 0x2f8, ...), length 8. */
export class Uart16550 implements Device {
  /** @inheritdoc */
  readonly id: string;
  /** The 8 registers. */
  readonly io: IoHandler;
  /** Bytes lost to overrun (loopback only; host input is flow-controlled). */
  overruns = 0;
  /** Guest writes to the read-only LSR/MSR. */
  readOnlyWrites = 0;
  private divisor = 12;
  private ier = 0;
  private iir = UART_IIR_NO_INT;
  private fcr = 0;
  private lcr = 0;
  private mcr = UART_MCR_OUT2;
  private lsr = UART_LSR_TEMT | UART_LSR_THRE;
  private msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
  private scr = 0;
  private thrIpending = false;
  private timeoutIpending = false;
  private irqLevel = false;
  private readonly rxFifo = new ByteFifo(FIFO_SIZE);
  private queue: number[] = [];
  /** Inside `receive`: the drained callback is held back (see there). */
  private receiving = false;
  private timeoutTimer: TimerHandle | undefined;
  private timeoutDeadlineNs: number | null = null;
  private readonly irq: IrqLine;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly sink: (byte: number) => void;
  private readonly maxQueued: number;
  private readonly onRxDrained: (() => void) | undefined;
  private readonly log: ((message: string) => void) | undefined;

  constructor(opts: Uart16550Options) {
    this.id = opts.id ?? 'uart16550';
    this.irq = opts.irq;
    this.clock = opts.clock;
    this.scheduler = opts.scheduler;
    this.sink = opts.sink;
    this.maxQueued = opts.maxQueuedBytes ?? 65536;
    this.onRxDrained = opts.onRxDrained;
    this.log = opts.log;
    this.io = {
      minSize: 1,
      maxSize: 1,
      read: (offset: number, _size: AccessSize) => this.read(offset & 7),
      write: (offset: number, _size: AccessSize, value: number) => this.write(offset & 7, value & 0xff),
    };
  }

  /**
   * Host input: queues `bytes` for the guest and returns how many were accepted (fewer
   * when the queue is full: the caller retries after `onRxDrained`).
   *
   * `onRxDrained` is never called from inside `receive`: the caller is still holding the
   * bytes it hands over, and a callback that hands them over again would deliver them
   * twice. When the receiver takes the whole queue at once, more bytes are taken here
   * instead, so a short count always means a non-empty queue (and a later callback).
   */
  receive(bytes: ArrayLike<number>): number {
    let n = 0;
    this.receiving = true;
    try {
      while (n < bytes.length) {
        const k = Math.min(this.maxQueued - this.queue.length, bytes.length - n);
        if (k <= 0) break;
        for (let i = 0; i < k; i++) this.queue.push(bytes[n + i]! & 0xff);
        n += k;
        this.fillFromQueue();
        if (this.queue.length > 0) break;
      }
    } finally {
      this.receiving = false;
    }
    if (n > 0) this.updateIrq();
    return n;
  }

  /** Host bytes accepted but not yet in the UART's FIFO. */
  get queuedBytes(): number {
    return this.queue.length;
  }

  private fifoEnabled(): boolean {
    return (this.fcr & UART_FCR_FE) !== 0;
  }

  private rxCapacity(): number {
    return this.fifoEnabled() ? FIFO_SIZE : 1;
  }

  /** Moves queued host bytes into the receiver while it has room (not in loopback). */
  private fillFromQueue(): void {
    if (this.mcr & UART_MCR_LOOP || this.queue.length === 0) return;
    const cap = this.rxCapacity();
    let moved = 0;
    while (moved < this.queue.length && this.rxFifo.length < cap) this.rxFifo.push(this.queue[moved++]!);
    if (moved === 0) return;
    this.queue.splice(0, moved);
    this.lsr |= UART_LSR_DR;
    this.armTimeout();
    if (this.queue.length === 0 && !this.receiving) this.onRxDrained?.();
  }

  /** A byte arriving on the serial input (loopback), with overrun when the receiver is full. */
  private receiveByte(b: number): void {
    if (this.rxFifo.length >= this.rxCapacity()) {
      this.lsr |= UART_LSR_OE;
      this.overruns++;
    } else {
      this.rxFifo.push(b);
      this.lsr |= UART_LSR_DR;
    }
    this.armTimeout();
  }

  /** Nanoseconds per character for the current divisor and frame. */
  private charNs(): number {
    const dataBits = (this.lcr & 0x03) + 5;
    const stopBits = this.lcr & 0x04 ? (dataBits === 5 ? 1.5 : 2) : 1;
    const parity = this.lcr & 0x08 ? 1 : 0;
    const bits = 1 + dataBits + parity + stopBits;
    const baud = UART_BASE_BAUD / Math.max(1, this.divisor);
    return Math.ceil((bits * 1e9) / baud);
  }

  private armTimeout(): void {
    this.cancelTimeout();
    if (!this.fifoEnabled() || this.rxFifo.length === 0) return;
    this.setTimeoutAt(this.clock.nowNs() + 4 * this.charNs());
  }

  private setTimeoutAt(deadlineNs: number): void {
    this.timeoutDeadlineNs = deadlineNs;
    this.timeoutTimer = this.scheduler.at(deadlineNs, () => {
      this.timeoutTimer = undefined;
      this.timeoutDeadlineNs = null;
      if (this.fifoEnabled() && this.rxFifo.length > 0) {
        this.timeoutIpending = true;
        this.updateIrq();
      }
    });
  }

  private cancelTimeout(): void {
    this.timeoutTimer?.cancel();
    this.timeoutTimer = undefined;
    this.timeoutDeadlineNs = null;
  }

  /** Recomputes IIR by the datasheet's priority order and drives the IRQ line. */
  private updateIrq(): void {
    let id = UART_IIR_NO_INT;
    const triggered = !this.fifoEnabled() || this.rxFifo.length >= TRIGGER_LEVELS[this.fcr >> 6]!;
    if (this.ier & UART_IER_RLSI && this.lsr & UART_LSR_INT_ANY) id = UART_IIR_RLSI;
    else if (this.ier & UART_IER_RDI && this.timeoutIpending) id = UART_IIR_CTI;
    else if (this.ier & UART_IER_RDI && this.lsr & UART_LSR_DR && triggered) id = UART_IIR_RDI;
    else if (this.ier & UART_IER_THRI && this.thrIpending) id = UART_IIR_THRI;
    else if (this.ier & UART_IER_MSI && this.msr & UART_MSR_ANY_DELTA) id = UART_IIR_MSI;
    this.iir = id | (this.fifoEnabled() ? UART_IIR_FE : 0);
    const level = id !== UART_IIR_NO_INT;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  /** In loopback the modem inputs follow the modem outputs. */
  private updateLoopbackMsr(): void {
    const m = this.mcr;
    let inputs = 0;
    if (m & UART_MCR_LOOP) {
      if (m & UART_MCR_RTS) inputs |= UART_MSR_CTS;
      if (m & UART_MCR_DTR) inputs |= UART_MSR_DSR;
      if (m & UART_MCR_OUT1) inputs |= UART_MSR_RI;
      if (m & UART_MCR_OUT2) inputs |= UART_MSR_DCD;
    } else {
      inputs = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS; // a connected, ready host
    }
    const old = this.msr;
    let delta = old & UART_MSR_ANY_DELTA;
    const changed = (old ^ inputs) & 0xf0;
    if (changed & UART_MSR_CTS) delta |= UART_MSR_DCTS;
    if (changed & UART_MSR_DSR) delta |= UART_MSR_DDSR;
    if (changed & UART_MSR_DCD) delta |= UART_MSR_DDCD;
    if (old & UART_MSR_RI && !(inputs & UART_MSR_RI)) delta |= UART_MSR_TERI;
    this.msr = inputs | delta;
  }

  private read(offset: number): number {
    switch (offset) {
      case UART_RX: {
        if (this.lcr & UART_LCR_DLAB) return this.divisor & 0xff;
        const b = this.rxFifo.pop();
        this.timeoutIpending = false;
        this.fillFromQueue();
        if (this.rxFifo.length === 0) {
          this.lsr &= ~(UART_LSR_DR | UART_LSR_BI);
          this.cancelTimeout();
        } else {
          this.armTimeout();
        }
        this.updateIrq();
        return b;
      }
      case UART_IER:
        return this.lcr & UART_LCR_DLAB ? (this.divisor >> 8) & 0xff : this.ier;
      case UART_IIR: {
        const v = this.iir;
        if ((v & 0x0f) === UART_IIR_THRI) {
          this.thrIpending = false;
          this.updateIrq();
        }
        return v;
      }
      case UART_LCR:
        return this.lcr;
      case UART_MCR:
        return this.mcr;
      case UART_LSR: {
        const v = this.lsr;
        if (v & UART_LSR_INT_ANY) {
          this.lsr &= ~UART_LSR_INT_ANY;
          this.updateIrq();
        }
        return v;
      }
      case UART_MSR: {
        const v = this.msr;
        if (v & UART_MSR_ANY_DELTA) {
          this.msr &= ~UART_MSR_ANY_DELTA;
          this.updateIrq();
        }
        return v;
      }
      default:
        return this.scr;
    }
  }

  private write(offset: number, value: number): void {
    switch (offset) {
      case UART_RX:
        if (this.lcr & UART_LCR_DLAB) {
          this.divisor = (this.divisor & 0xff00) | value;
          return;
        }
        this.transmit(value);
        return;
      case UART_IER:
        if (this.lcr & UART_LCR_DLAB) {
          this.divisor = (this.divisor & 0x00ff) | (value << 8);
          return;
        }
        {
          const old = this.ier;
          this.ier = value & 0x0f;
          // Enabling ETBEI while THR is empty raises a THRE interrupt (8250 drivers test this).
          if (!(old & UART_IER_THRI) && this.ier & UART_IER_THRI && this.lsr & UART_LSR_THRE) this.thrIpending = true;
          this.updateIrq();
        }
        return;
      case UART_FCR: {
        let v = value;
        if ((v ^ this.fcr) & UART_FCR_FE) v |= UART_FCR_RFR | UART_FCR_XFR; // enabling/disabling flushes
        if (v & UART_FCR_RFR) {
          this.rxFifo.clear();
          this.lsr &= ~(UART_LSR_DR | UART_LSR_BI);
          this.timeoutIpending = false;
          this.cancelTimeout();
        }
        if (v & UART_FCR_XFR) {
          this.lsr |= UART_LSR_THRE | UART_LSR_TEMT;
          this.thrIpending = true;
        }
        this.fcr = v & (UART_FCR_FE | UART_FCR_DMS | UART_FCR_ITL);
        if (!this.fifoEnabled()) this.fcr = 0;
        this.fillFromQueue();
        this.updateIrq();
        return;
      }
      case UART_LCR:
        this.lcr = value;
        return;
      case UART_MCR: {
        const wasLoop = (this.mcr & UART_MCR_LOOP) !== 0;
        this.mcr = value & 0x1f;
        this.updateLoopbackMsr();
        if (wasLoop && !(this.mcr & UART_MCR_LOOP)) this.fillFromQueue();
        this.updateIrq();
        return;
      }
      case UART_LSR:
      case UART_MSR:
        // Factory test registers on some parts; writes are ignored (QEMU does the same).
        this.readOnlyWrites++;
        this.log?.(`${this.id}: write 0x${value.toString(16)} to read-only register ${offset}`);
        return;
      default:
        this.scr = value;
    }
  }

  private transmit(b: number): void {
    this.thrIpending = false;
    if (this.mcr & UART_MCR_LOOP) this.receiveByte(b);
    else this.sink(b);
    // Instantaneous line: THR and the shift register are empty again at once.
    this.lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    this.thrIpending = true;
    this.updateIrq();
  }

  /** @inheritdoc Host bytes still queued survive a reset (they were never received). */
  reset(_kind: ResetKind): void {
    this.cancelTimeout();
    this.divisor = 12;
    this.ier = 0;
    this.fcr = 0;
    this.lcr = 0;
    this.mcr = UART_MCR_OUT2;
    this.lsr = UART_LSR_TEMT | UART_LSR_THRE;
    this.msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    this.scr = 0;
    this.thrIpending = false;
    this.timeoutIpending = false;
    this.rxFifo.clear();
    this.overruns = 0;
    this.fillFromQueue();
    this.updateIrq();
  }

  /** @inheritdoc */
  saveState(): DeviceState {
    const now = this.clock.nowNs();
    return {
      v: 1,
      divisor: this.divisor, ier: this.ier, iir: this.iir, fcr: this.fcr, lcr: this.lcr, mcr: this.mcr,
      lsr: this.lsr, msr: this.msr, scr: this.scr, thrIpending: this.thrIpending, timeoutIpending: this.timeoutIpending,
      irqLevel: this.irqLevel, rxFifo: this.rxFifo.toArray(), queue: [...this.queue],
      timeoutInNs: this.timeoutDeadlineNs === null ? null : this.timeoutDeadlineNs - now,
    };
  }

  /** @inheritdoc */
  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    const w = this.id;
    const b = (k: string) => int(w, s, k, 0, 0xff);
    const next = {
      divisor: int(w, s, 'divisor', 0, 0xffff), ier: int(w, s, 'ier', 0, 0x0f), iir: b('iir'), fcr: b('fcr'),
      lcr: b('lcr'), mcr: int(w, s, 'mcr', 0, 0x1f), lsr: b('lsr'), msr: b('msr'), scr: b('scr'),
      thrIpending: bool(w, s, 'thrIpending'), timeoutIpending: bool(w, s, 'timeoutIpending'), irqLevel: bool(w, s, 'irqLevel'),
      rxFifo: ints(w, s, 'rxFifo', 0, 0xff, 0, FIFO_SIZE), queue: ints(w, s, 'queue', 0, 0xff, 0, this.maxQueued),
      timeoutInNs: numOrNull(w, s, 'timeoutInNs'),
    };
    this.cancelTimeout();
    this.divisor = next.divisor; this.ier = next.ier; this.iir = next.iir; this.fcr = next.fcr; this.lcr = next.lcr;
    this.mcr = next.mcr; this.lsr = next.lsr; this.msr = next.msr; this.scr = next.scr;
    this.thrIpending = next.thrIpending; this.timeoutIpending = next.timeoutIpending;
    this.rxFifo.clear();
    for (const x of next.rxFifo) this.rxFifo.push(x);
    this.queue = [...next.queue];
    if (next.timeoutInNs !== null) this.setTimeoutAt(this.clock.nowNs() + Math.max(0, next.timeoutInNs));
    this.irqLevel = next.irqLevel;
    this.irq.set(this.irqLevel);
  }
}
