/**
 * Virtio over PCI (virtio 1.2 §4.1), laid out as QEMU's virtio-pci so that Linux,
 * SeaBIOS and the virtio-win drivers find what they know:
 *
 * - PCI ids (§4.1.2): vendor 1af4; transitional device ids 0x1000-0x1005 with revision
 *   0 and subsystem id = virtio device type, or modern 0x1040 + type with revision 1
 *   (see virtio-constants.ts); interrupt pin INTA#.
 * - BAR0 (I/O): the legacy interface (§4.1.4.8), on transitional devices only.
 * - BAR1 (32-bit memory, 4 KiB): the MSI-X table at 0 and the PBA at 0x800 (QEMU's
 *   msix_init_exclusive_bar), with the MSI-X capability in config space (PCI 3.0 §6.8.2).
 * - BAR4 (64-bit prefetchable memory, 16 KiB): the modern structures (§4.1.4), each 4
 *   KiB: common configuration at 0x0000 (§4.1.4.3), ISR status at 0x1000 (§4.1.4.5),
 *   device configuration at 0x2000 (§4.1.4.6), notifications at 0x3000 with
 *   notify_off_multiplier 4 and queue_notify_off = queue index (§4.1.4.4).
 * - The PCI configuration access capability (§4.1.4.9) reaching BAR4.
 *
 * Device status follows §2.1 and §3.1.1: writing 0 resets; FEATURES_OK is refused
 * (left clear) when the driver accepted features the device did not offer; DRIVER_OK
 * activates the device; guest errors set DEVICE_NEEDS_RESET and raise a configuration
 * change interrupt. Interrupts (§4.1.5): with MSI-X enabled, the queue's or the config
 * vector's message (VIRTIO_MSI_NO_VECTOR = none; a vector beyond the table reads back
 * as NO_VECTOR); otherwise INTx# with the ISR bits (queue = 1, config = 2), cleared by
 * reading the ISR. DMA fails while bus mastering is off in the Command register.
 *
 * The transport offers VIRTIO_F_VERSION_1, RING_INDIRECT_DESC and RING_EVENT_IDX on top
 * of the device's features, and ANY_LAYOUT through the legacy interface.
 * Left out: packed queues, queue_reset (VIRTIO_F_RING_RESET), notification data,
 * shared memory capabilities, SR-IOV, page-per-vq notify layout.
 */
import type { AccessSize, DeviceState, IoHandler, IrqLine } from '../device.js';
import type { DmaMemory } from '../ide/bus-master.js';
import { PciFunction, type BarChangeCallback, type GuestLog } from '../pci/pci-function.js';
import {
  MsixTable, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_BYTES, PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL, VIRTIO_MSI_NO_VECTOR,
} from './msix.js';
import { bool, int, obj, version } from '../state-check.js';
import {
  VIRTIO_F_ANY_LAYOUT, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_VERSION_1,
  VIRTIO_PCI_VENDOR_ID, VIRTIO_STATUS_DEVICE_NEEDS_RESET, VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_FEATURES_OK,
  virtioPciIdentity,
} from './virtio-constants.js';
import type { VirtioDevice, VirtioDeviceContext } from './virtio-device.js';
import { readLe } from './virtio-device.js';
import { parseQueueState, Virtqueue, type QueueState } from './virtqueue.js';

/** BAR numbers (as QEMU's virtio-pci). */
export const VIRTIO_PCI_LEGACY_BAR = 0;
export const VIRTIO_PCI_MSIX_BAR = 1;
export const VIRTIO_PCI_MODERN_BAR = 4;
/** Size of the modern memory BAR and of each structure in it. */
export const VIRTIO_PCI_MODERN_BAR_BYTES = 0x4000;
export const VIRTIO_PCI_COMMON_OFFSET = 0x0000;
export const VIRTIO_PCI_ISR_OFFSET = 0x1000;
export const VIRTIO_PCI_DEVICE_OFFSET = 0x2000;
export const VIRTIO_PCI_NOTIFY_OFFSET = 0x3000;
export const VIRTIO_PCI_REGION_BYTES = 0x1000;
/** queue_notify_off * this = offset of a queue's doorbell in the notify structure. */
export const VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER = 4;
/** Size of the MSI-X BAR, and where the PBA starts in it. */
export const VIRTIO_PCI_MSIX_BAR_BYTES = 0x1000;
export const VIRTIO_PCI_MSIX_PBA_OFFSET = 0x800;

/** virtio_pci_cap.cfg_type values (§4.1.4). */
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;
/** PCI capability id of vendor-specific capabilities. */
export const PCI_CAP_ID_VNDR = 0x09;

/** Common configuration register offsets (§4.1.4.3). */
export const VIRTIO_PCI_COMMON_DFSELECT = 0x00;
export const VIRTIO_PCI_COMMON_DF = 0x04;
export const VIRTIO_PCI_COMMON_GFSELECT = 0x08;
export const VIRTIO_PCI_COMMON_GF = 0x0c;
export const VIRTIO_PCI_COMMON_MSIX = 0x10;
export const VIRTIO_PCI_COMMON_NUMQ = 0x12;
export const VIRTIO_PCI_COMMON_STATUS = 0x14;
export const VIRTIO_PCI_COMMON_CFGGENERATION = 0x15;
export const VIRTIO_PCI_COMMON_Q_SELECT = 0x16;
export const VIRTIO_PCI_COMMON_Q_SIZE = 0x18;
export const VIRTIO_PCI_COMMON_Q_MSIX = 0x1a;
export const VIRTIO_PCI_COMMON_Q_ENABLE = 0x1c;
export const VIRTIO_PCI_COMMON_Q_NOFF = 0x1e;
export const VIRTIO_PCI_COMMON_Q_DESCLO = 0x20;
export const VIRTIO_PCI_COMMON_Q_DESCHI = 0x24;
export const VIRTIO_PCI_COMMON_Q_AVAILLO = 0x28;
export const VIRTIO_PCI_COMMON_Q_AVAILHI = 0x2c;
export const VIRTIO_PCI_COMMON_Q_USEDLO = 0x30;
export const VIRTIO_PCI_COMMON_Q_USEDHI = 0x34;
/** Bytes of the common configuration structure as advertised (QEMU: 0x38). */
export const VIRTIO_PCI_COMMON_CFG_BYTES = 0x38;

/** Legacy I/O register offsets (§4.1.4.8). */
export const VIRTIO_PCI_HOST_FEATURES = 0;
export const VIRTIO_PCI_GUEST_FEATURES = 4;
export const VIRTIO_PCI_QUEUE_PFN = 8;
export const VIRTIO_PCI_QUEUE_NUM = 12;
export const VIRTIO_PCI_QUEUE_SEL = 14;
export const VIRTIO_PCI_QUEUE_NOTIFY = 16;
export const VIRTIO_PCI_STATUS = 18;
export const VIRTIO_PCI_ISR = 19;
export const VIRTIO_MSI_CONFIG_VECTOR = 20;
export const VIRTIO_MSI_QUEUE_VECTOR = 22;

/** ISR status bits (§4.1.4.5). */
export const VIRTIO_PCI_ISR_QUEUE = 1;
export const VIRTIO_PCI_ISR_CONFIG = 2;

const TWO_32 = 0x1_0000_0000;
const MASK_32 = 0xffff_ffffn;

/** Construction options of a virtio PCI function. */
export interface VirtioPciOptions {
  /** Stable id; the device's state nests under it. */
  readonly id: string;
  /** The device behind the transport. */
  readonly device: VirtioDevice;
  /** Guest memory for DMA (the board's). */
  readonly memory: DmaMemory;
  /** Sends MSI messages (InterruptRouter.deliverMsi). */
  readonly deliverMsi: (address: number, data: number) => void;
  /** INTA# of this slot (after the board's swizzle to PIRQx). */
  readonly irq?: IrqLine;
  /** BAR mapping changes (the board maps `barHandler(index)` there). */
  readonly onBarChange?: BarChangeCallback;
  /** Guest-misuse sink (the board rate-limits). */
  readonly log?: GuestLog;
  /** MSI-X vectors (default: one per queue plus one for config changes). */
  readonly msixVectors?: number;
  /**
   * Called after the transport raised an interrupt (MSI or INTx). Completions arrive
   * on the host event loop (disk I/O, network frames): the board passes the run loop's
   * wake-up here, as it does for IDE's onAsyncCompletion, so a halted CPU notices.
   */
  readonly onInterrupt?: () => void;
  /**
   * Fail DMA while Command.BUS_MASTER is clear (default true, as QEMU's bus-master
   * address space; SeaBIOS, Linux and Windows enable bus mastering before use).
   */
  readonly requireBusMaster?: boolean;
  /** Offer the legacy I/O BAR (default: when the device type has a transitional id). */
  readonly legacy?: boolean;
}

/** A virtio device on PCI: config space, BAR0/1/4 handlers, MSI-X, INTx. */
export class VirtioPci extends PciFunction {
  /** The device behind this transport. */
  readonly device: VirtioDevice;
  /** MSI-X table and PBA. */
  readonly msix: MsixTable;
  /** The queues, one per entry of `device.queueMaxSizes`. */
  readonly queues: readonly Virtqueue[];
  /** Offered features (device + transport). */
  readonly offeredFeatures: bigint;
  /** Whether BAR0 (legacy interface) exists. */
  readonly legacy: boolean;
  /** Capability offsets in config space, for tests and debugging. */
  readonly capOffsets: { readonly common: number; readonly notify: number; readonly isr: number; readonly device: number; readonly pciCfg: number; readonly msix: number };

  private readonly memory: DmaMemory;
  private readonly dma: DmaMemory;
  private status = 0;
  private driverFeatures = 0n;
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private queueSelect = 0;
  private configVector = VIRTIO_MSI_NO_VECTOR;
  private readonly queueVectors: number[];
  private isr = 0;
  private generation = 0;
  private legacyMode = false;
  private activation = 0;
  private ctx: TransportContext | null = null;
  private readonly onInterrupt: (() => void) | undefined;

  /** The legacy I/O BAR0 handler. */
  readonly legacyIo: IoHandler;
  /** The MSI-X BAR1 handler (table + PBA). */
  readonly msixMmio: IoHandler;
  /** The modern BAR4 handler (common, ISR, device, notify). */
  readonly modernMmio: IoHandler;

  constructor(opts: VirtioPciOptions) {
    const ident = virtioPciIdentity(opts.device.deviceType);
    const legacy = opts.legacy ?? ident.transitional;
    const nq = opts.device.queueMaxSizes.length;
    const legacyBytes = pow2ceil(24 + opts.device.configSizeBytes);
    super({
      id: opts.id, vendorId: VIRTIO_PCI_VENDOR_ID,
      deviceId: legacy ? ident.deviceId : 0x1040 + opts.device.deviceType,
      revision: legacy ? ident.revision : 1, classCode: ident.classCode,
      subsystemVendorId: VIRTIO_PCI_VENDOR_ID, subsystemId: legacy ? ident.subsystemId : 0x1100,
      interruptPin: 1,
      bars: [
        legacy ? { kind: 'io', sizeBytes: legacyBytes } : null,
        { kind: 'mem32', sizeBytes: VIRTIO_PCI_MSIX_BAR_BYTES },
        null, null,
        { kind: 'mem64', sizeBytes: VIRTIO_PCI_MODERN_BAR_BYTES, prefetchable: true },
      ],
      irq: opts.irq, onBarChange: opts.onBarChange, log: opts.log,
    });
    if (nq < 1 || nq > 1024) throw new RangeError(`VirtioPci ${opts.id}: ${nq} queues (1..1024)`);
    this.device = opts.device;
    this.onInterrupt = opts.onInterrupt;
    this.legacy = legacy;
    this.memory = opts.memory;
    const gate = opts.requireBusMaster ?? true;
    this.dma = {
      read: (gpa, dest) => (!gate || this.busMaster) && this.memory.read(gpa, dest),
      write: (gpa, src) => (!gate || this.busMaster) && this.memory.write(gpa, src),
    };
    this.offeredFeatures = opts.device.deviceFeatures | VIRTIO_F_VERSION_1 | VIRTIO_F_RING_INDIRECT_DESC
      | VIRTIO_F_RING_EVENT_IDX | (legacy ? VIRTIO_F_ANY_LAYOUT : 0n);
    this.queues = opts.device.queueMaxSizes.map((maxSize, i) => new Virtqueue({
      maxSize, onError: (m) => this.guestNeedsReset(`queue ${i}: ${m}`),
    }));
    this.queueVectors = this.queues.map(() => VIRTIO_MSI_NO_VECTOR);
    this.msix = new MsixTable({ vectors: opts.msixVectors ?? nq + 1, deliverMsi: opts.deliverMsi, log: (m) => this.misuse(m) });
    if (this.msix.tableBytes > VIRTIO_PCI_MSIX_PBA_OFFSET) throw new RangeError(`VirtioPci ${opts.id}: too many MSI-X vectors for the 4 KiB BAR`);

    // Vendor capabilities (§4.1.4), then the PCI config access window and MSI-X.
    const common = this.addVirtioCap(VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_MODERN_BAR, VIRTIO_PCI_COMMON_OFFSET, VIRTIO_PCI_REGION_BYTES);
    const isr = this.addVirtioCap(VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_MODERN_BAR, VIRTIO_PCI_ISR_OFFSET, VIRTIO_PCI_REGION_BYTES);
    const device = opts.device.configSizeBytes > 0
      ? this.addVirtioCap(VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_MODERN_BAR, VIRTIO_PCI_DEVICE_OFFSET, VIRTIO_PCI_REGION_BYTES) : 0;
    const notify = this.addVirtioCap(VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_MODERN_BAR, VIRTIO_PCI_NOTIFY_OFFSET, VIRTIO_PCI_REGION_BYTES, 4);
    this.setDefault(notify + 16, 4, VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER);
    const pciCfg = this.addVirtioCap(VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, 4);
    this.setMasks(pciCfg + 4, 1, 0xff);
    this.setMasks(pciCfg + 8, 4, 0xffffffff);
    this.setMasks(pciCfg + 12, 4, 0xffffffff);
    this.setMasks(pciCfg + 16, 4, 0xffffffff);
    const msix = this.addCapability(PCI_CAP_ID_MSIX, PCI_MSIX_CAP_BYTES);
    this.setDefault(msix + 2, 2, this.msix.vectors - 1);
    this.setMasks(msix + 2, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    this.setDefault(msix + 4, 4, VIRTIO_PCI_MSIX_BAR);
    this.setDefault(msix + 8, 4, VIRTIO_PCI_MSIX_PBA_OFFSET | VIRTIO_PCI_MSIX_BAR);
    this.capOffsets = { common, notify, isr, device, pciCfg, msix };

    this.legacyIo = { minSize: 1, maxSize: 4, read: (o, s) => this.legacyRead(o, s), write: (o, s, v) => this.legacyWrite(o, s, v) };
    this.msixMmio = {
      minSize: 1, maxSize: 4,
      read: (o, s) => o >= VIRTIO_PCI_MSIX_PBA_OFFSET ? this.msix.pbaRead(o - VIRTIO_PCI_MSIX_PBA_OFFSET, s) : this.msix.tableRead(o, s),
      write: (o, s, v) => { if (o < VIRTIO_PCI_MSIX_PBA_OFFSET) this.msix.tableWrite(o, s, v); },
    };
    this.modernMmio = { minSize: 1, maxSize: 4, read: (o, s) => this.modernRead(o, s), write: (o, s, v) => this.modernWrite(o, s, v) };
  }

  /** Adds a virtio_pci_cap (§4.1.4: vndr, next, len, cfg_type, bar, id, pad, offset, length). */
  private addVirtioCap(cfgType: number, bar: number, offset: number, length: number, extraBytes = 0): number {
    const len = 16 + extraBytes;
    const at = this.addCapability(PCI_CAP_ID_VNDR, len);
    this.setDefault(at + 2, 1, len);
    this.setDefault(at + 3, 1, cfgType);
    this.setDefault(at + 4, 1, bar);
    this.setDefault(at + 8, 4, offset);
    this.setDefault(at + 12, 4, length);
    return at;
  }

  /** The handler the board maps for BAR `index` (0 legacy I/O, 1 MSI-X, 4 modern). */
  barHandler(index: number): IoHandler | undefined {
    if (index === VIRTIO_PCI_LEGACY_BAR) return this.legacy ? this.legacyIo : undefined;
    if (index === VIRTIO_PCI_MSIX_BAR) return this.msixMmio;
    if (index === VIRTIO_PCI_MODERN_BAR) return this.modernMmio;
    return undefined;
  }

  /** The device status byte (§2.1). */
  get deviceStatus(): number {
    return this.status;
  }

  /** The negotiated features (valid after FEATURES_OK / DRIVER_OK). */
  get negotiatedFeatures(): bigint {
    return this.driverFeatures & this.offeredFeatures & (this.legacyMode ? MASK_32 : ~0n);
  }

  /** The ISR status byte (not cleared by this getter). */
  get isrStatus(): number {
    return this.isr;
  }

  // ---- configuration space: the PCI configuration access capability (§4.1.4.9) ----

  override configRead(reg: number, size: 1 | 2 | 4): number {
    const data = this.capOffsets.pciCfg + 16;
    if (reg < data + 4 && reg + size > data) {
      const r = this.pciCfgTarget();
      if (r) {
        const v = this.modernRead(r.offset, r.len);
        for (let i = 0; i < 4; i++) this.poke8(data + i, i < r.len ? (v >>> (8 * i)) & 0xff : 0);
      }
    }
    return super.configRead(reg, size);
  }

  override configWrite(reg: number, size: 1 | 2 | 4, value: number): void {
    super.configWrite(reg, size, value);
    const data = this.capOffsets.pciCfg + 16;
    if (reg < data + 4 && reg + size > data) {
      const r = this.pciCfgTarget();
      if (r) this.modernWrite(r.offset, r.len, this.reg32(data) & (r.len === 4 ? 0xffffffff : (1 << (8 * r.len)) - 1));
    }
  }

  private pciCfgTarget(): { offset: number; len: AccessSize } | null {
    const cap = this.capOffsets.pciCfg;
    const bar = this.reg8(cap + 4);
    const offset = this.reg32(cap + 8);
    const len = this.reg32(cap + 12);
    if (bar !== VIRTIO_PCI_MODERN_BAR || (len !== 1 && len !== 2 && len !== 4) || offset % len !== 0
      || offset + len > VIRTIO_PCI_MODERN_BAR_BYTES) {
      this.misuse(`pci_cfg access to BAR ${bar} offset 0x${offset.toString(16)} length ${len}`);
      return null;
    }
    return { offset, len };
  }

  protected override onConfigUpdated(first: number, last: number): void {
    const ctl = this.capOffsets?.msix;
    if (ctl === undefined) return; // during construction
    if (first <= ctl + 3 && last >= ctl + 2) {
      const flags = this.reg16(ctl + 2);
      this.msix.setControl((flags & PCI_MSIX_FLAGS_ENABLE) !== 0, (flags & PCI_MSIX_FLAGS_MASKALL) !== 0);
    }
  }

  // ---- modern BAR4 -------------------------------------------------------------------

  private modernRead(offset: number, size: AccessSize): number {
    if (offset < VIRTIO_PCI_ISR_OFFSET) return this.commonRead(offset - VIRTIO_PCI_COMMON_OFFSET, size);
    if (offset < VIRTIO_PCI_DEVICE_OFFSET) return offset === VIRTIO_PCI_ISR_OFFSET ? this.readIsr() : 0;
    if (offset < VIRTIO_PCI_NOTIFY_OFFSET) return this.configRead2(offset - VIRTIO_PCI_DEVICE_OFFSET, size);
    return 0;
  }

  private modernWrite(offset: number, size: AccessSize, value: number): void {
    if (offset < VIRTIO_PCI_ISR_OFFSET) { this.commonWrite(offset - VIRTIO_PCI_COMMON_OFFSET, size, value); return; }
    if (offset < VIRTIO_PCI_DEVICE_OFFSET) return; // ISR is read-only
    if (offset < VIRTIO_PCI_NOTIFY_OFFSET) { this.configWrite2(offset - VIRTIO_PCI_DEVICE_OFFSET, size, value); return; }
    const rel = offset - VIRTIO_PCI_NOTIFY_OFFSET;
    this.notifyQueue(Math.floor(rel / VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER));
  }

  private configRead2(offset: number, size: AccessSize): number {
    if (offset + size > this.device.configSizeBytes) return 0;
    return this.device.readConfig(offset, size);
  }

  private configWrite2(offset: number, size: AccessSize, value: number): void {
    if (offset + size > this.device.configSizeBytes) { this.misuse(`device config write beyond ${this.device.configSizeBytes} bytes`); return; }
    this.device.writeConfig(offset, size, value);
  }

  private commonSnapshot(): Uint8Array {
    const b = new Uint8Array(0x40);
    const dv = new DataView(b.buffer);
    const sel = this.deviceFeatureSelect;
    dv.setUint32(0x00, sel, true);
    dv.setUint32(0x04, sel < 2 ? Number((this.offeredFeatures >> BigInt(32 * sel)) & MASK_32) : 0, true);
    dv.setUint32(0x08, this.driverFeatureSelect, true);
    dv.setUint32(0x0c, this.driverFeatureSelect < 2 ? Number((this.driverFeatures >> BigInt(32 * this.driverFeatureSelect)) & MASK_32) : 0, true);
    dv.setUint16(0x10, this.configVector, true);
    dv.setUint16(0x12, this.queues.length, true);
    b[0x14] = this.status;
    b[0x15] = this.generation & 0xff;
    dv.setUint16(0x16, this.queueSelect, true);
    const q = this.queues[this.queueSelect];
    if (q) {
      dv.setUint16(0x18, q.size, true);
      dv.setUint16(0x1a, this.queueVectors[this.queueSelect]!, true);
      dv.setUint16(0x1c, q.ready ? 1 : 0, true);
      dv.setUint16(0x1e, this.queueSelect, true);
      setU64(dv, 0x20, q.descGpa);
      setU64(dv, 0x28, q.availGpa);
      setU64(dv, 0x30, q.usedGpa);
    }
    return b;
  }

  private commonRead(offset: number, size: AccessSize): number {
    if (offset + size > VIRTIO_PCI_COMMON_CFG_BYTES) return 0;
    return readLe(this.commonSnapshot(), offset, size);
  }

  private commonWrite(offset: number, size: AccessSize, value: number): void {
    if (offset + size > VIRTIO_PCI_COMMON_CFG_BYTES) { this.misuse(`common cfg write at 0x${offset.toString(16)}`); return; }
    const snap = this.commonSnapshot();
    for (let i = 0; i < size; i++) snap[offset + i] = (value >>> (8 * i)) & 0xff;
    const dv = new DataView(snap.buffer);
    for (const [start, width] of COMMON_FIELDS) {
      if (offset >= start + width || offset + size <= start) continue;
      const v = width === 4 ? dv.getUint32(start, true) : width === 2 ? dv.getUint16(start, true) : snap[start]!;
      this.commonField(start, v);
    }
  }

  private commonField(start: number, v: number): void {
    const q = this.queues[this.queueSelect];
    switch (start) {
      case VIRTIO_PCI_COMMON_DFSELECT: this.deviceFeatureSelect = v; return;
      case VIRTIO_PCI_COMMON_GFSELECT: this.driverFeatureSelect = v; return;
      case VIRTIO_PCI_COMMON_GF: {
        if (this.driverFeatureSelect > 1) { this.misuse(`driver_feature write with select ${this.driverFeatureSelect}`); return; }
        if (this.status & VIRTIO_STATUS_FEATURES_OK) { this.misuse('driver_feature write after FEATURES_OK'); return; }
        const shift = BigInt(32 * this.driverFeatureSelect);
        this.driverFeatures = (this.driverFeatures & ~(MASK_32 << shift)) | (BigInt(v) << shift);
        return;
      }
      case VIRTIO_PCI_COMMON_MSIX: this.configVector = this.mapVector(v); return;
      case VIRTIO_PCI_COMMON_STATUS: this.setStatus(v); return;
      case VIRTIO_PCI_COMMON_Q_SELECT: this.queueSelect = v; return;
      default: break;
    }
    if (!q) { this.misuse(`write to queue register 0x${start.toString(16)} of absent queue ${this.queueSelect}`); return; }
    if (start === VIRTIO_PCI_COMMON_Q_MSIX) { this.queueVectors[this.queueSelect] = this.mapVector(v); return; }
    if (start === VIRTIO_PCI_COMMON_Q_ENABLE) {
      if (v === 1) this.enableQueue(this.queueSelect);
      else if (v !== 0 || q.ready) this.misuse(`queue_enable write of ${v}`);
      return;
    }
    if (q.ready) { this.misuse(`write to register 0x${start.toString(16)} of enabled queue ${this.queueSelect}`); return; }
    switch (start) {
      case VIRTIO_PCI_COMMON_Q_SIZE: q.size = v; return;
      case VIRTIO_PCI_COMMON_Q_DESCLO: q.descGpa = setLo(q.descGpa, v); return;
      case VIRTIO_PCI_COMMON_Q_DESCHI: q.descGpa = setHi(q.descGpa, v); return;
      case VIRTIO_PCI_COMMON_Q_AVAILLO: q.availGpa = setLo(q.availGpa, v); return;
      case VIRTIO_PCI_COMMON_Q_AVAILHI: q.availGpa = setHi(q.availGpa, v); return;
      case VIRTIO_PCI_COMMON_Q_USEDLO: q.usedGpa = setLo(q.usedGpa, v); return;
      case VIRTIO_PCI_COMMON_Q_USEDHI: q.usedGpa = setHi(q.usedGpa, v); return;
      default: return; // read-only fields
    }
  }

  private mapVector(v: number): number {
    if (v === VIRTIO_MSI_NO_VECTOR || v < this.msix.vectors) return v;
    this.misuse(`MSI-X vector ${v} beyond the ${this.msix.vectors}-entry table`);
    return VIRTIO_MSI_NO_VECTOR;
  }

  private enableQueue(index: number): void {
    const q = this.queues[index]!;
    const problem = q.validate();
    if (problem !== null) { this.guestNeedsReset(`queue ${index}: ${problem}`); return; }
    q.ready = true;
  }

  // ---- status, activation, reset -------------------------------------------------------

  private setStatus(v: number): void {
    if (v === 0) { this.resetTransport(); return; }
    const old = this.status;
    let next = (v & 0xff & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    if ((next & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
      const extra = this.driverFeatures & ~this.offeredFeatures;
      if (extra !== 0n) {
        this.misuse(`driver accepted unoffered features 0x${extra.toString(16)}: FEATURES_OK refused`);
        next &= ~VIRTIO_STATUS_FEATURES_OK;
      }
    }
    this.status = next;
    if ((next & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) this.activate();
  }

  private activate(): void {
    const features = this.negotiatedFeatures;
    for (const q of this.queues) {
      q.eventIdx = (features & VIRTIO_F_RING_EVENT_IDX) !== 0n;
      q.indirect = (features & VIRTIO_F_RING_INDIRECT_DESC) !== 0n;
    }
    this.activation++;
    this.ctx = new TransportContext(this, this.activation, features);
    this.device.activate(this.ctx);
  }

  /** Device reset (status 0, §2.4; also the legacy interface's): keeps PCI config. */
  private resetTransport(): void {
    this.activation++;
    this.ctx = null;
    this.device.reset();
    for (const q of this.queues) q.reset();
    this.queueVectors.fill(VIRTIO_MSI_NO_VECTOR);
    this.configVector = VIRTIO_MSI_NO_VECTOR;
    this.status = 0;
    this.driverFeatures = 0n;
    this.deviceFeatureSelect = 0;
    this.driverFeatureSelect = 0;
    this.queueSelect = 0;
    this.legacyMode = false;
    this.isr = 0;
    this.setIntx(false);
  }

  protected override resetDevice(): void {
    this.resetTransport();
    this.msix.reset();
  }

  // ---- notifications and interrupts -------------------------------------------------

  private notifyQueue(index: number): void {
    if (index >= this.queues.length) { this.misuse(`notify of absent queue ${index}`); return; }
    if (!(this.status & VIRTIO_STATUS_DRIVER_OK) || this.ctx === null) return; // picked up at activation
    this.device.queueNotify(index);
  }

  private readIsr(): number {
    const v = this.isr;
    this.isr = 0;
    this.setIntx(false);
    return v;
  }

  /** @internal Raises queue `index`'s interrupt (the context calls this). */
  interruptQueue(index: number): void {
    if (this.msix.enabled) {
      const v = this.queueVectors[index]!;
      if (v !== VIRTIO_MSI_NO_VECTOR) this.msix.notify(v);
    } else {
      this.isr |= VIRTIO_PCI_ISR_QUEUE;
      this.setIntx(true);
    }
    this.onInterrupt?.();
  }

  /** @internal Configuration change: bumps config_generation and interrupts (§4.1.5.3). */
  interruptConfig(): void {
    this.generation = (this.generation + 1) & 0xff;
    if (this.msix.enabled) {
      if (this.configVector !== VIRTIO_MSI_NO_VECTOR) this.msix.notify(this.configVector);
    } else {
      this.isr |= VIRTIO_PCI_ISR_CONFIG;
      this.setIntx(true);
    }
    this.onInterrupt?.();
  }

  /** @internal Sets DEVICE_NEEDS_RESET after a guest error (§2.1.2). */
  guestNeedsReset(message: string): void {
    this.misuse(`needs reset: ${message}`);
    if (this.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) return;
    this.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (this.status & VIRTIO_STATUS_DRIVER_OK) this.interruptConfig();
  }

  /** @internal Counts and logs guest misuse on behalf of the device. */
  reportMisuse(message: string): void {
    this.misuse(message);
  }

  /** @internal Bus-master-gated guest memory. */
  get dmaMemory(): DmaMemory {
    return this.dma;
  }

  /** @internal Whether `token` is the current activation. */
  isCurrent(token: number): boolean {
    return this.activation === token && this.ctx !== null;
  }

  // ---- legacy BAR0 (§4.1.4.8) ----------------------------------------------------------

  private get legacyHeaderBytes(): number {
    return this.msix.enabled ? 24 : 20;
  }

  private legacyRead(offset: number, size: AccessSize): number {
    const hdr = this.legacyHeaderBytes;
    if (offset >= hdr) return this.configRead2(offset - hdr, size);
    const b = new Uint8Array(24);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, Number(this.offeredFeatures & MASK_32), true);
    dv.setUint32(4, Number(this.driverFeatures & MASK_32), true);
    const q = this.queues[this.queueSelect];
    dv.setUint32(8, q ? q.legacyPfn : 0, true);
    dv.setUint16(12, q ? q.maxSize : 0, true);
    dv.setUint16(14, this.queueSelect, true);
    b[18] = this.status;
    b[19] = this.isr;
    dv.setUint16(20, this.configVector, true);
    dv.setUint16(22, q ? this.queueVectors[this.queueSelect]! : VIRTIO_MSI_NO_VECTOR, true);
    const v = readLe(b, offset, size);
    if (offset <= VIRTIO_PCI_ISR && offset + size > VIRTIO_PCI_ISR) this.readIsr();
    return v;
  }

  private legacyWrite(offset: number, size: AccessSize, value: number): void {
    const hdr = this.legacyHeaderBytes;
    if (offset >= hdr) { this.configWrite2(offset - hdr, size, value); return; }
    const fields: Array<[number, number]> = [[4, 4], [8, 4], [14, 2], [16, 2], [18, 1], [20, 2], [22, 2]];
    const b = new Uint8Array(24);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < size; i++) b[offset + i] = (value >>> (8 * i)) & 0xff;
    for (const [start, width] of fields) {
      if (offset >= start + width || offset + size <= start) continue;
      if (offset !== start || size !== width) { this.misuse(`legacy register ${start} written with ${size} bytes at ${offset}`); continue; }
      const v = width === 4 ? dv.getUint32(start, true) : width === 2 ? dv.getUint16(start, true) : b[start]!;
      this.legacyField(start, v);
    }
  }

  private legacyField(start: number, v: number): void {
    const q = this.queues[this.queueSelect];
    switch (start) {
      case VIRTIO_PCI_GUEST_FEATURES:
        this.legacyMode = true;
        this.driverFeatures = BigInt(v);
        return;
      case VIRTIO_PCI_QUEUE_PFN:
        this.legacyMode = true;
        if (!q) { this.misuse(`PFN write for absent queue ${this.queueSelect}`); return; }
        q.size = q.maxSize;
        q.setLegacyPfn(v);
        return;
      case VIRTIO_PCI_QUEUE_SEL: this.queueSelect = v; return;
      case VIRTIO_PCI_QUEUE_NOTIFY: this.notifyQueue(v); return;
      case VIRTIO_PCI_STATUS:
        this.legacyMode = true;
        this.setStatus(v);
        return;
      case VIRTIO_MSI_CONFIG_VECTOR: this.configVector = this.mapVector(v); return;
      case VIRTIO_MSI_QUEUE_VECTOR:
        if (q) this.queueVectors[this.queueSelect] = this.mapVector(v);
        return;
      default: return;
    }
  }

  // ---- state -------------------------------------------------------------------------------

  override saveState(): DeviceState {
    return {
      v: 1, pci: this.savePciState(), status: this.status, driverFeatures: this.driverFeatures.toString(16),
      deviceFeatureSelect: this.deviceFeatureSelect, driverFeatureSelect: this.driverFeatureSelect,
      queueSelect: this.queueSelect, configVector: this.configVector, queueVectors: [...this.queueVectors],
      isr: this.isr, generation: this.generation, legacyMode: this.legacyMode,
      queues: this.queues.map((q) => q.saveState()), msix: this.msix.saveState(), device: this.device.saveState(),
    };
  }

  override loadState(raw: unknown): void {
    const w = this.id;
    const s = obj(w, raw);
    version(w, s, 1);
    const pci = this.parsePciState(s['pci']);
    const status = int(w, s, 'status', 0, 0xff);
    const df = s['driverFeatures'];
    if (typeof df !== 'string' || !/^[0-9a-f]{1,16}$/.test(df)) throw new Error(`${w}.driverFeatures: expected hex`);
    const qs = s['queues'];
    if (!Array.isArray(qs) || qs.length !== this.queues.length) throw new Error(`${w}.queues: expected ${this.queues.length} queues`);
    const queues: QueueState[] = qs.map((q, i) => parseQueueState(`${w}.queues[${i}]`, q, this.queues[i]!.maxSize));
    const vecs = s['queueVectors'];
    if (!Array.isArray(vecs) || vecs.length !== this.queues.length || !vecs.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff)) throw new Error(`${w}.queueVectors: bad`);
    const fields = {
      deviceFeatureSelect: int(w, s, 'deviceFeatureSelect', 0, 0xffffffff), driverFeatureSelect: int(w, s, 'driverFeatureSelect', 0, 0xffffffff),
      queueSelect: int(w, s, 'queueSelect', 0, 0xffff), configVector: int(w, s, 'configVector', 0, 0xffff),
      isr: int(w, s, 'isr', 0, 3), generation: int(w, s, 'generation', 0, 0xff), legacyMode: bool(w, s, 'legacyMode'),
    };
    // Validate the nested parts on scratch objects before touching live ones.
    new MsixTable({ vectors: this.msix.vectors, deliverMsi: () => undefined }).loadState(s['msix']);
    this.device.loadState(s['device']);
    this.msix.loadState(s['msix']);
    this.activation++;
    this.ctx = null;
    queues.forEach((q, i) => this.queues[i]!.applyState(q));
    this.queueVectors.splice(0, this.queueVectors.length, ...(vecs as number[]));
    this.status = status;
    this.driverFeatures = BigInt(`0x${df}`);
    this.deviceFeatureSelect = fields.deviceFeatureSelect;
    this.driverFeatureSelect = fields.driverFeatureSelect;
    this.queueSelect = fields.queueSelect;
    this.configVector = fields.configVector;
    this.isr = fields.isr;
    this.generation = fields.generation;
    this.legacyMode = fields.legacyMode;
    this.applyPciState(pci);
    if (this.status & VIRTIO_STATUS_DRIVER_OK) this.activate();
  }
}

/** Common configuration fields by start offset and width (64-bit ones as halves). */
const COMMON_FIELDS: ReadonlyArray<readonly [number, 1 | 2 | 4]> = [
  [0x00, 4], [0x04, 4], [0x08, 4], [0x0c, 4], [0x10, 2], [0x12, 2], [0x14, 1], [0x15, 1], [0x16, 2], [0x18, 2],
  [0x1a, 2], [0x1c, 2], [0x1e, 2], [0x20, 4], [0x24, 4], [0x28, 4], [0x2c, 4], [0x30, 4], [0x34, 4],
];

/** The context handed to the device at DRIVER_OK; stale after a reset. */
class TransportContext implements VirtioDeviceContext {
  constructor(private readonly t: VirtioPci, private readonly token: number, readonly features: bigint) {}

  get memory(): DmaMemory { return this.t.dmaMemory; }
  get live(): boolean { return this.t.isCurrent(this.token); }

  queue(index: number): Virtqueue | undefined {
    const q = this.t.queues[index];
    return this.live && q?.ready ? q : undefined;
  }

  addUsed(index: number, head: number, lenBytes: number): void {
    const q = this.queue(index);
    if (q) q.addUsed(this.memory, head, lenBytes);
  }

  signal(index: number): void {
    const q = this.queue(index);
    if (q && q.needsNotification(this.memory)) this.t.interruptQueue(index);
  }

  complete(index: number, head: number, lenBytes: number): void {
    this.addUsed(index, head, lenBytes);
    this.signal(index);
  }

  configChanged(): void {
    if (this.live) this.t.interruptConfig();
  }

  needsReset(message: string): void {
    if (this.live) this.t.guestNeedsReset(message);
  }

  misuse(message: string): void {
    this.t.reportMisuse(message);
  }
}

function setU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v % TWO_32, true);
  dv.setUint32(at + 4, Math.floor(v / TWO_32) >>> 0, true);
}

function setLo(gpa: number, lo: number): number {
  return Math.floor(gpa / TWO_32) * TWO_32 + (lo >>> 0);
}

function setHi(gpa: number, hi: number): number {
  return (hi >>> 0) * TWO_32 + (gpa % TWO_32);
}

function pow2ceil(n: number): number {
  let p = 4;
  while (p < n) p *= 2;
  return p;
}
