/**
 * IdeDevice: what an ATA or ATAPI device on an IDE channel has in common — its copy of
 * the task file (each device keeps its own; writes go to both, ATA/ATAPI-6 7.1), its
 * Status/Error registers, the PIO data-block machinery of the PIO data-in and data-out
 * protocols (ATA/ATAPI-6 9.5, 9.6), interrupts, resets (power-on, hardware, SRST and
 * DEVICE RESET, 9.1-9.3 and the signatures of 9.12) and asynchronous backend I/O.
 *
 * Asynchronous I/O: a command that touches the BlockBackend sets BSY and starts the
 * request; the completion runs later from the host's event loop. Every reset bumps a
 * generation counter so completions of requests started before it are dropped (the
 * request itself still finishes on the host). `settled()` resolves when nothing is in
 * flight, for tests and for an orderly shutdown.
 *
 * Snapshots: the task file, status and device settings are saved; a command in progress
 * (waiting for the backend, or in the middle of a PIO/DMA transfer) is not. A device
 * restored from such a snapshot reports the command as aborted (ERR, ABRT, INTRQ), which
 * ATA drivers handle by retrying.
 *
 * Left out: overlapped/queued commands, the PDIAG-/DASP- handshake timing, power
 * management timers (standby is a state flag only), the 8-bit PIO feature.
 */
import {
  ATA_DEV_DEV, ATA_DEV_OBS, ATA_ER_ABRT, ATA_SR_BSY, ATA_SR_DRDY, ATA_SR_DRQ, ATA_SR_DSC, ATA_SR_ERR,
  ATAPI_SIGNATURE_HIGH, ATAPI_SIGNATURE_MID,
} from './ide-constants.js';
import { bool, int } from '../state-check.js';

/** Outcome of one bus-master transfer request. */
export type DmaResult =
  /** Every byte of the buffer moved. */
  | 'ok'
  /** The PRD table ended before the buffer did (SFF-8038i: the drive still wants data). */
  | 'short'
  /** A guest memory access failed or bus mastering is disabled. */
  | 'error';

/** The bus-master engine of a channel, as a device sees it (SFF-8038i). */
export interface IdeDma {
  /**
   * Moves `buf` to guest memory (`toMemory`) or fills it from guest memory along the PRD
   * table, continuing where the previous transfer of the same command stopped. Runs as
   * soon as the guest has set Start (immediately when it already has); `done` is called
   * exactly once unless `cancel` comes first.
   */
  transfer(toMemory: boolean, buf: Uint8Array, done: (result: DmaResult) => void): void;
  /**
   * The device has ended its DMA command (successfully or not): update Active. With
   * `inactive`, Active clears even when the PRD table is not exhausted.
   */
  finish(success: boolean, inactive?: boolean): void;
  /** Drops any parked transfer and forgets the PRD position (resets). */
  cancel(): void;
}

/** What a device sees of the channel it is attached to. */
export interface IdeBusContext {
  /** Asserts INTRQ (the channel honours nIEN). */
  raiseIrq(): void;
  /** The channel's bus master, or null when the controller has none. */
  readonly dma: IdeDma | null;
  /** Counts and logs a guest misuse or a backend error. */
  log(message: string): void;
  /** Called after each asynchronous completion (the machine wakes a halted CPU). */
  asyncCompletion(): void;
}

/** Reset kinds a device distinguishes. */
export type IdeResetKind = 'power-on' | 'hard' | 'srst' | 'device-reset';

type PioDir = 'none' | 'in' | 'out';

/** The status bits reported once a command completes without error. */
export const STATUS_READY = ATA_SR_DRDY | ATA_SR_DSC;

/** Common register file and protocol engine of ATA and ATAPI devices. */
export abstract class IdeDevice {
  /** 'ata' for a hard disk, 'atapi' for a packet device. */
  abstract readonly kind: 'ata' | 'atapi';
  /** Stable id used in logs and as a snapshot key. */
  readonly id: string;
  /** Guest misuses and backend errors seen (never thrown). */
  guestErrors = 0;

  // ---- task file (ATA-6 7.1) -------------------------------------------------------
  feature = 0;
  hobFeature = 0;
  nsector = 0;
  hobNsector = 0;
  sector = 0;
  hobSector = 0;
  lcyl = 0;
  hobLcyl = 0;
  hcyl = 0;
  hobHcyl = 0;
  select = ATA_DEV_OBS;
  status: number = STATUS_READY;
  error = 0;

  /** The channel, once attached. */
  protected bus: IdeBusContext | null = null;
  /** Bumped on every reset: completions of older requests are dropped. */
  protected generation = 0;
  /** True while a DMA command is active (its bus-master transfer may be parked). */
  protected dmaActive = false;

  private pioBuf: Uint8Array = new Uint8Array(0);
  private pioPos = 0;
  private pioDir: PioDir = 'none';
  private pioDone: (() => void) | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(id: string) {
    this.id = id;
  }

  /** Connects the device to its channel (done by `IdeChannel.attach`). */
  attachBus(bus: IdeBusContext): void {
    this.bus = bus;
  }

  /** Executes `cmd` written to the Command register; the channel has checked BSY/DRQ. */
  abstract executeCommand(cmd: number): void;

  /** The device's state: registers and settings (see the header for what is left out). */
  abstract saveState(): Record<string, unknown>;

  /**
   * Validates `state` (untrusted) without touching the device and returns the function
   * that applies it; that function returns true when the guest must see an interrupt.
   */
  abstract parseState(state: unknown): () => boolean;

  /**
   * EXECUTE DEVICE DIAGNOSTIC (ATA-6 8.11), addressed to both devices by the channel:
   * the signature is loaded and Error holds the diagnostic code.
   */
  diagnose(code: number): void {
    this.generation++;
    this.clearPio();
    this.setSignature();
    this.error = code;
    this.status = this.kind === 'atapi' ? 0 : STATUS_READY;
  }

  /** Marks the device busy while SRST is asserted; pending completions are dropped. */
  holdInReset(): void {
    this.generation++;
    if (this.dmaActive) this.bus?.dma?.cancel();
    this.dmaActive = false;
    this.clearPio();
    this.status = ATA_SR_BSY;
  }

  /** Resolves once no backend request is in flight. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Whether a backend request is in flight. */
  get busyWithIo(): boolean {
    return this.inFlight.size > 0;
  }

  // ---- data port (called by the channel) -----------------------------------------------

  /** A read of `size` (2 or 4) bytes from the Data register. */
  readData(size: 2 | 4): number {
    if (this.pioDir !== 'in' || !(this.status & ATA_SR_DRQ)) {
      this.misuse(`data read without DRQ (status 0x${this.status.toString(16)})`);
      return 0;
    }
    let v = 0;
    for (let i = 0; i < size; i++) {
      const b = this.pioPos + i < this.pioBuf.length ? this.pioBuf[this.pioPos + i]! : 0;
      v |= b << (8 * i);
    }
    // A dword read of the last word of a block (or an odd-length ATAPI block) pads with 0.
    this.pioPos += size;
    if (this.pioPos >= this.pioBuf.length) this.endPioBlock();
    return v >>> 0;
  }

  /** A write of `size` (2 or 4) bytes to the Data register. */
  writeData(size: 2 | 4, value: number): void {
    if (this.pioDir !== 'out' || !(this.status & ATA_SR_DRQ)) {
      this.misuse(`data write without DRQ (status 0x${this.status.toString(16)})`);
      return;
    }
    for (let i = 0; i < size && this.pioPos + i < this.pioBuf.length; i++) {
      this.pioBuf[this.pioPos + i] = (value >>> (8 * i)) & 0xff;
    }
    this.pioPos += size;
    if (this.pioPos >= this.pioBuf.length) this.endPioBlock();
  }

  // ---- resets -----------------------------------------------------------------------

  /**
   * Resets the device. 'power-on' and 'hard' also restore settings (write cache, transfer
   * mode, multiple count); 'srst' and 'device-reset' keep them (ATA-6 9.2, 9.3).
   */
  reset(kind: IdeResetKind): void {
    this.generation++;
    if (this.dmaActive) this.bus?.dma?.cancel();
    this.dmaActive = false;
    this.clearPio();
    this.feature = 0; this.hobFeature = 0;
    this.hobNsector = 0; this.hobSector = 0; this.hobLcyl = 0; this.hobHcyl = 0;
    this.select = ATA_DEV_OBS | (kind === 'device-reset' ? this.select & ATA_DEV_DEV : 0);
    this.error = 0x01; // diagnostic code "device 0 passed" (ATA-6 table 26)
    this.setSignature();
    this.status = this.kind === 'atapi' ? 0 : STATUS_READY;
    this.resetSettings(kind);
  }

  /** Subclass part of a reset. */
  protected abstract resetSettings(kind: IdeResetKind): void;

  /** Loads the reset signature into the task file (ATA-6 9.12). */
  setSignature(): void {
    this.nsector = 1;
    this.sector = 1;
    if (this.kind === 'atapi') { this.lcyl = ATAPI_SIGNATURE_MID; this.hcyl = ATAPI_SIGNATURE_HIGH; }
    else { this.lcyl = 0; this.hcyl = 0; }
  }

  // ---- protocol helpers for subclasses ---------------------------------------------------

  /** Starts a command: BSY, error cleared, any stale transfer dropped. */
  protected beginCommand(): void {
    this.clearPio();
    this.error = 0;
    this.status = ATA_SR_BSY | ATA_SR_DRDY;
  }

  /** Ends a command without error; raises INTRQ unless `irq` is false. */
  protected completeOk(irq = true): void {
    this.clearPio();
    this.status = STATUS_READY;
    if (irq) this.raiseIrq();
  }

  /** Ends a command with `errorBits` in Error (ABRT when omitted) and INTRQ. */
  protected completeError(errorBits: number = ATA_ER_ABRT): void {
    this.clearPio();
    this.error = errorBits;
    this.status = STATUS_READY | ATA_SR_ERR;
    this.raiseIrq();
  }

  /**
   * Offers `buf` for the host to read through the Data register (one DRQ data block);
   * `done` runs when the host has read it all. Raises INTRQ unless `irq` is false.
   */
  protected pioIn(buf: Uint8Array, done: () => void, irq = true, status: number = STATUS_READY): void {
    this.pioBuf = buf;
    this.pioPos = 0;
    this.pioDir = 'in';
    this.pioDone = done;
    this.status = status | ATA_SR_DRQ;
    if (irq) this.raiseIrq();
  }

  /** Asks the host for `buf.length` bytes through the Data register; `done` runs when they came. */
  protected pioOut(buf: Uint8Array, done: () => void, irq = false, status: number = STATUS_READY): void {
    this.pioBuf = buf;
    this.pioPos = 0;
    this.pioDir = 'out';
    this.pioDone = done;
    this.status = status | ATA_SR_DRQ;
    if (irq) this.raiseIrq();
  }

  /** Whether a PIO block is pending. */
  protected get pioPending(): boolean {
    return this.pioDir !== 'none';
  }

  /** Asserts INTRQ through the channel. */
  protected raiseIrq(): void {
    this.bus?.raiseIrq();
  }

  /** Counts and logs a guest misuse. */
  protected misuse(message: string): void {
    this.guestErrors++;
    this.bus?.log(`${this.id}: ${message}`);
  }

  /**
   * Runs a backend request. `then` receives null on success or the error, and runs only
   * when no reset happened meanwhile; the machine is told after it ran.
   */
  protected backendIo(start: () => Promise<void>, then: (err: unknown) => void): void {
    const gen = this.generation;
    let p: Promise<void>;
    try {
      p = start();
    } catch (e) {
      p = Promise.reject(e);
    }
    const tracked: Promise<void> = p.then(() => null, (e: unknown) => e ?? new Error('backend request failed'))
      .then((err) => {
        this.inFlight.delete(tracked);
        if (gen !== this.generation) return;
        if (err !== null) this.backendError(err);
        then(err);
        this.bus?.asyncCompletion();
      });
    this.inFlight.add(tracked);
  }

  /** Logs a backend error (reported to the guest by the caller). */
  protected backendError(err: unknown): void {
    this.guestErrors++;
    this.bus?.log(`${this.id}: backend error: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** Runs a bus-master transfer for the current DMA command, dropping stale completions. */
  protected dmaTransfer(toMemory: boolean, buf: Uint8Array, then: (r: DmaResult) => void): void {
    const dma = this.bus?.dma;
    if (!dma) { then('error'); return; }
    const gen = this.generation;
    this.dmaActive = true;
    dma.transfer(toMemory, buf, (r) => { if (gen === this.generation) then(r); });
  }

  /** Ends a DMA command: tells the bus master, then completes with or without error. */
  protected dmaEnd(success: boolean, errorBits: number = ATA_ER_ABRT): void {
    this.dmaActive = false;
    this.bus?.dma?.finish(success);
    if (success) this.completeOk();
    else this.completeError(errorBits);
  }

  /**
   * Ends a DMA command whose PRD table was too short: the bus master stops without an
   * interrupt and the device gives up (QEMU ide_dma_cb behaviour; the host times out).
   */
  protected dmaShort(): void {
    this.dmaActive = false;
    this.bus?.dma?.finish(false);
    this.misuse('PRD table shorter than the transfer');
    this.clearPio();
    this.status = STATUS_READY;
  }

  // ---- snapshot ------------------------------------------------------------------------

  /** The common registers; a command in progress is recorded only as `busy`. */
  protected saveRegs(): Record<string, unknown> {
    return {
      feature: this.feature, hobFeature: this.hobFeature, nsector: this.nsector, hobNsector: this.hobNsector,
      sector: this.sector, hobSector: this.hobSector, lcyl: this.lcyl, hobLcyl: this.hobLcyl,
      hcyl: this.hcyl, hobHcyl: this.hobHcyl, select: this.select, status: this.status, error: this.error,
      busy: this.inFlight.size > 0 || this.pioDir !== 'none' || this.dmaActive
        || (this.status & (ATA_SR_BSY | ATA_SR_DRQ)) !== 0,
    };
  }

  /**
   * Validates the common registers and returns the function applying them. The apply
   * function returns true when a command was in progress: it is then reported as
   * aborted and the caller raises INTRQ.
   */
  protected parseRegs(where: string, s: Record<string, unknown>): () => boolean {
    const r = new Map<string, number>();
    for (const k of ['feature', 'hobFeature', 'nsector', 'hobNsector', 'sector', 'hobSector', 'lcyl', 'hobLcyl',
      'hcyl', 'hobHcyl', 'select', 'status', 'error']) r.set(k, int(where, s, k, 0, 0xff));
    const busy = bool(where, s, 'busy');
    const g = (k: string): number => r.get(k) ?? 0;
    return () => {
      this.generation++;
      this.dmaActive = false;
      this.clearPio();
      this.feature = g('feature'); this.hobFeature = g('hobFeature');
      this.nsector = g('nsector'); this.hobNsector = g('hobNsector');
      this.sector = g('sector'); this.hobSector = g('hobSector');
      this.lcyl = g('lcyl'); this.hobLcyl = g('hobLcyl');
      this.hcyl = g('hcyl'); this.hobHcyl = g('hobHcyl');
      this.select = g('select'); this.status = g('status'); this.error = g('error');
      if (!busy) return false;
      this.error = ATA_ER_ABRT;
      this.status = STATUS_READY | ATA_SR_ERR;
      return true;
    };
  }

  // ---- internals -----------------------------------------------------------------------

  private endPioBlock(): void {
    const done = this.pioDone;
    this.clearPio();
    this.status &= ~ATA_SR_DRQ;
    if (done) done();
    else this.status = STATUS_READY | (this.status & ATA_SR_ERR);
  }

  private clearPio(): void {
    this.pioBuf = new Uint8Array(0);
    this.pioPos = 0;
    this.pioDir = 'none';
    this.pioDone = null;
  }
}
