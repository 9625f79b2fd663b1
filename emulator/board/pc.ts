/**
 * The "pc" board: QEMU's i440FX + PIIX machine, the hardware SeaBIOS, Linux and Windows
 * know. This file alone decides which device sits at which port, MMIO range, IRQ line and
 * PCI slot (ARCHITECTURE principle 1); devices only ever see offsets.
 *
 * Layout (as QEMU pc):
 *   RAM            0 .. below-4G size (and from 4 GiB, not mapped yet: 32-bit guests only)
 *   VGA window     0xA0000-0xBFFFF (MMIO, over RAM)
 *   PAM shadows    0xC0000-0xFFFFF: RAM aliases switched by the i440FX PAM registers;
 *                  underneath, the last 128 KiB of the BIOS ("isa-bios") at 0xE0000
 *   BIOS ROM       4 GiB - size .. 4 GiB
 *   PCI BARs       wherever the firmware puts them (VGA LFB, VGA MMIO)
 *   Ports          PIC 0x20/0xA0/0x4D0, PIT 0x40, port 0x61, i8042 0x60/0x64, RTC 0x70,
 *                  POST 0x80, port 0x92, APM 0xB2, COM1 0x3F8, VGA 0x3B0-0x3DF,
 *                  DISPI 0x1CE, fw_cfg 0x510/0x514, PCI 0xCF8/0xCF9/0xCFC, debugcon 0xE9
 *                  and 0x402, isa-debug-exit 0xF4, PM block where the guest maps it
 *   Platform       IOAPIC 0xFEC00000 (ISA IRQ n -> pin n, IRQ0 -> pin 2), HPET 0xFED00000,
 *                  ACPI tables through fw_cfg's table loader (PM block at 0x600, where SeaBIOS
 *                  puts it when the table loader exists; GPE0 0xAFE0)
 *   IRQs           PIT 0, keyboard 1, COM1 4, RTC 8, SCI 9, mouse 12, PCI INTx via PIRQA-D;
 *                  with the HPET in legacy replacement mode it drives IRQ0/IRQ8 instead
 *   PCI slots      00.0 i440FX, 01.0 PIIX3, 01.1 PIIX3 IDE, 01.3 PIIX4 PM, 02.0 VGA (1234:1111)
 *   IDE            0x1F0/0x3F6 (IRQ 14), 0x170/0x376 (IRQ 15), bus master block at BAR4
 *
 * CPUs           `cpus` (1-8) local APICs with APIC IDs 0..cpus-1 (CPU 0 the BSP), each
 *                  CPU's xAPIC page at its own IA32_APIC_BASE (0xFEE00000 at reset): the
 *                  CPU's VmOps (`cpuVmOps`) answer it before the shared address space (SDM
 *                  Vol. 3A 11.4.1: the page is private to each processor); the firmware gets
 *                  the count through fw_cfg (NB_CPUS/MAX_CPUS), CMOS 0x5F, the MADT and DSDT.
 *                  (The machine's CPUs advertise the APIC in CPUID only when there are several.)
 * Leaves out: RAM above 4 GiB, SMM.
 */
import type { Device, IoHandler, IrqLine } from '../devices/device.js';
import { irqLine } from '../devices/device.js';
import type { VmOps } from '../cpu/backend.js';
import { GuestMemory, PAGE_SIZE } from '../memory/guest-memory.js';
import { PhysMap } from '../memory/phys-map.js';
import { PioBus } from '../memory/pio-bus.js';
import { AddressSpace, type MemoryRegion } from '../memory/address-space.js';
import type { VirtualClock } from '../time/clock.js';
import { I8259 } from '../devices/i8259/i8259.js';
import { I8254 } from '../devices/i8254/i8254.js';
import { Port61 } from '../devices/i8254/port61.js';
import { Port92 } from '../devices/system-control/port92.js';
import { DebugCon } from '../devices/debug/debugcon.js';
import { IsaDebugExit } from '../devices/debug/isa-debug-exit.js';
import { PostPort } from '../devices/debug/post-port.js';
import { PciBus } from '../devices/pci/pci-bus.js';
import { PciHost } from '../devices/pci/pci-host.js';
import { I440fx, PAM_REGIONS } from '../devices/pci/i440fx.js';
import { Piix3, piix3SlotToPirq } from '../devices/pci/piix3.js';
import { Piix4Pm } from '../devices/pci/piix4-pm.js';
import { PciFunction, PCI_ROM_SLOT, type PciBarKind } from '../devices/pci/pci-function.js';
import { Apm } from '../devices/apm/apm.js';
import { FwCfg } from '../devices/fw-cfg/fw-cfg.js';
import { addPcFwCfgItems, encodeBootOrder } from '../devices/fw-cfg/fw-cfg-items.js';
import { StdVga } from '../devices/vga/vga.js';
import { VGA_IO_BASE, VGA_IO_LENGTH, VGA_LEGACY_GPA, VGA_LEGACY_LENGTH, DISPI_IO_BASE, DISPI_IO_LENGTH } from '../devices/vga/vga-constants.js';
import { cmosMemoryBytes, encodeE820, firmwareE820, pcRamLayout } from '../firmware/e820.js';
import { Mc146818 } from '../devices/mc146818/mc146818.js';
import { setBootOrder } from '../devices/mc146818/cmos-layout.js';
import { Uart16550 } from '../devices/uart16550/uart16550.js';
import { I8042 } from '../devices/i8042/i8042.js';
import { VgaRenderer } from '../display/vga-renderer.js';
import { screenText } from '../display/text-screen.js';
import { encodePng } from '../display/png.js';
import { Ioapic } from '../devices/ioapic/ioapic.js';
import { LocalApic, APIC_MMIO_SIZE } from '../devices/apic/lapic.js';
import { InterruptRouter } from '../devices/apic/interrupt-router.js';
import { Hpet } from '../devices/hpet/hpet.js';
import { buildAcpiFwCfgFiles, resolveAcpiConfig } from '../firmware/acpi/index.js';
import { Piix3Ide } from '../devices/ide/piix3-ide.js';
import { AtaDisk } from '../devices/ide/ata-disk.js';
import { AtapiCdrom } from '../devices/ide/atapi-cdrom.js';
import type { AttachedDrive } from '../machine/drives.js';
import { VirtioPci } from '../devices/virtio/virtio-pci.js';
import type { VirtioDevice } from '../devices/virtio/virtio-device.js';
import { VirtioBlk } from '../devices/virtio/virtio-blk.js';
import { VirtioNet } from '../devices/virtio/virtio-net.js';
import { VirtioRng, type EntropySource } from '../devices/virtio/virtio-rng.js';
import { VirtioBalloon } from '../devices/virtio/virtio-balloon.js';
import { VirtioScsi, type VirtioScsiUnitConfig } from '../devices/virtio/virtio-scsi.js';
import { VirtioInput } from '../devices/virtio/virtio-input.js';
import type { InputSink } from '../display/rfb/input.js';
import { VirtioConsole } from '../devices/virtio/virtio-console.js';
import type { BlockBackend } from '../storage/block-backend.js';
import type { NetBackend } from '../net/net-backend.js';

/** What the board needs from its machine. */
export interface PcBoardOptions {
  memoryBytes: number;
  /** The system BIOS image (e.g. SeaBIOS bios-256k.bin): 64 KiB to 16 MiB, a multiple of 64 KiB. */
  bios: Uint8Array;
  /** The VGA option ROM (vgabios-stdvga.bin), handed to the firmware through fw_cfg. */
  vgaBios: Uint8Array | null;
  clock: VirtualClock;
  /** Wall-clock time the RTC starts at. */
  rtcStart: Date;
  /** Bytes the guest transmits on COM1. */
  serialOut?: (bytes: Uint8Array) => void;
  /** COM1 has taken every queued host byte: more may be sent. */
  onSerialRxDrained?: () => void;
  /** Where guest memory starts in its buffer (KVM needs a page-aligned host address). */
  alignWindow?: (buffer: SharedArrayBuffer) => number;
  /** virtio devices (PCI slots 03.0 net, 04.0+ blk, 05.0 serial, 06.0 rng, 07.0 balloon, 08.0 scsi, 09.0 tablet). */
  virtio?: VirtioBoardOptions;
  /** IDE drives (opened images and their slots). */
  drives?: readonly AttachedDrive[];
  /** A disk request finished asynchronously (the machine wakes a halted CPU). */
  onAsyncCompletion?: () => void;
  /** Boot order for the firmware: OpenFirmware device paths, first tried first. */
  bootOrder?: readonly string[];
  /** Bytes the guest writes to the debug console ports (0xe9, 0x402). */
  debugconOut?: (bytes: Uint8Array) => void;
  /** Guest wrote to isa-debug-exit: stop with this exit code. */
  onDebugExit: (code: number) => void;
  /** Guest powered off (ACPI S5). */
  onPowerOff: () => void;
  /** Guest asked for a system reset (port 0x92, 0xCF9, keyboard controller). */
  onResetRequest: () => void;
  /**
   * Number of CPUs (1-8, default 1): one local APIC each, APIC ID = CPU index, CPU 0 the
   * BSP. The machine builds the CPUs and handles INIT/STARTUP (`onInit`, `onStartup`).
   */
  cpus?: number;
  /** An NMI for CPU `cpuIndex` (from its local APIC: LINT1, NMI IPIs). */
  onNmi?: (cpuIndex: number) => void;
  /** INIT for CPU `cpuIndex` (its local APIC has INIT-reset itself; SDM Vol. 3A 11.6.1). */
  onInit?: (cpuIndex: number) => void;
  /** STARTUP IPI for CPU `cpuIndex` with `vector` (SDM Vol. 3A 11.6.1, 8.4.4.1). */
  onStartup?: (cpuIndex: number, vector: number) => void;
  /** The A20 gate changed (port 0x92 / keyboard controller output port). */
  setA20: (enabled: boolean) => void;
  /** INTR towards CPU `cpuIndex` changed (an interrupt became deliverable to it). */
  onIntr: (level: boolean, cpuIndex: number) => void;
  /** Logger for guest misbehaviour (rate-limited by the caller). */
  log?: (message: string) => void;
}

/**
 * A hypervisor's in-kernel interrupt controllers (KVM_CREATE_IRQCHIP: 8259 pair, IOAPIC,
 * local APIC, plus its 8254), fed by the board's devices once attached
 * (`PcBoard.attachKernelIrqchip`). GSIs as the MADT describes them: 0-15 ISA IRQs (IRQ0 on
 * IOAPIC pin 2), 16-23 IOAPIC pins.
 */
export interface KernelIrqchip {
  setIrq(gsi: number, level: boolean): void;
  signalMsi(address: number, data: number): void;
  /** The HPET's legacy replacement route changed: the in-kernel 8254 stops (resumes) driving IRQ0. */
  setHpetLegacy(enabled: boolean): void;
}

/** Which virtio devices the board gets, with their host backends. */
export interface VirtioBoardOptions {
  /** virtio-blk disks, in order (slot 04.0, then 0A.0, 0B.0, ...). */
  disks?: ReadonlyArray<{ backend: BlockBackend; serial?: string }>;
  /** virtio-net on this backend (passt, or the null backend for a cable-less NIC). */
  net?: { backend: NetBackend; mac: Uint8Array };
  /** virtio-rng drawing from this entropy source. */
  rng?: EntropySource;
  /** virtio-balloon. */
  balloon?: boolean;
  /** virtio-serial with QEMU's layout: port 0 a console, port 1 `org.qemu.guest_agent.0`. */
  serial?: { onAgentData: (bytes: Uint8Array) => void };
  /** virtio-scsi HBA (slot 08.0) with these logical units (disks and CD-ROMs). */
  scsi?: ReadonlyArray<VirtioScsiUnitConfig>;
  /** virtio tablet (slot 09.0): absolute pointer positions from the console once the guest drives it. */
  tablet?: boolean;
}

/** Most CPUs the board takes (QEMU pc's 8-bit xAPIC IDs allow more; the interpreter runs them in one thread). */
export const PC_MAX_CPUS = 8;
/** PCI slot of the virtio-scsi HBA (function 0). */
export const VIRTIO_SCSI_SLOT = 8;
/** PCI slot of the virtio tablet (function 0). */
export const VIRTIO_TABLET_SLOT = 9;
/** QEMU pc's BIOS alias below 1 MiB: the last 128 KiB of the image. */
const ISA_BIOS_BYTES = 128 * 1024;
const FOUR_GIB = 0x1_0000_0000;
/**
 * Where SeaBIOS maps the PIIX4 PM block when the machine provides ACPI tables through
 * `etc/table-loader` ("Moving pm_base to 0x600"; 0xB000 otherwise). The FADT must agree.
 */
const PM_BASE = 0x600;
/** QEMU's PIIX4 GPE0 block. */
const GPE0_BASE = 0xafe0;

/** The assembled board: memory, buses and devices of one machine. */
export class PcBoard {
  readonly mem: GuestMemory;
  readonly physMap = new PhysMap();
  readonly addressSpace: AddressSpace;
  readonly pio = new PioBus();
  readonly pic: I8259;
  readonly pit: I8254;
  readonly port61: Port61;
  readonly port92: Port92;
  readonly postPort = new PostPort();
  readonly pciBus: PciBus;
  readonly pciHost: PciHost;
  readonly i440fx: I440fx;
  readonly piix3: Piix3;
  readonly pm: Piix4Pm;
  readonly apm: Apm;
  readonly fwCfg: FwCfg;
  readonly vga: StdVga;
  readonly vgaPci: PciFunction;
  readonly rtc: Mc146818;
  readonly com1: Uart16550;
  readonly kbc: I8042;
  readonly ioapic: Ioapic;
  /** Number of CPUs. */
  readonly cpus: number;
  /** One local APIC per CPU, by CPU index (= APIC ID). */
  readonly lapics: readonly LocalApic[];
  /** The BSP's local APIC (`lapics[0]`). */
  readonly lapic: LocalApic;
  /**
   * The APIC bus and the CPUs' INTR pins: the BSP's interrupt source itself (the local APIC,
   * with the PIC passing through LINT0 in virtual-wire mode); `router.cpu(i)` for CPU i.
   */
  readonly router: InterruptRouter;
  /** Where each CPU's local APIC page is (NaN while its APIC is globally disabled). */
  private readonly apicPage: number[] = [];
  /** Address-space regions marking the APIC pages as MMIO, by base. */
  private readonly lapicRegions = new Map<number, MemoryRegion>();
  readonly ide: Piix3Ide;
  /** The CD-ROM drives by IDE position ("channel.unit"), for media changes at run time. */
  readonly cdroms = new Map<string, AtapiCdrom>();
  /** The virtio functions on the bus, by id ("virtio-net0", "virtio-blk0", ...). */
  readonly virtio = new Map<string, VirtioPci>();
  /** The virtio-serial device (guest agent channel), when present. */
  readonly virtioSerial: VirtioConsole | undefined;
  /** The virtio-balloon device, when present. */
  readonly virtioBalloon: VirtioBalloon | undefined;
  /** The virtio-scsi HBA, when the machine has SCSI drives. */
  readonly virtioScsi: VirtioScsi | undefined;
  /** The virtio tablet, when present. */
  readonly virtioTablet: VirtioInput | undefined;
  readonly hpet: Hpet;
  /** HPET legacy replacement: the HPET owns IRQ0 and IRQ8, the PIT's and RTC's outputs are muted. */
  private hpetLegacy = false;
  private pitLevel = false;
  private rtcLevel = false;
  /** The machine's virtual clock (devices' timers; a KVM vCPU returns by its next deadline). */
  readonly clock: VirtualClock;
  /** Set when a hypervisor's in-kernel irqchip owns the interrupt controllers (see attachKernelIrqchip). */
  private kernelIrqchip: KernelIrqchip | undefined;
  private readonly renderer: VgaRenderer;
  private readonly cmosBytes: Array<{ index: number; value: number }>;
  /** Every device, in reset order. */
  readonly devices: Device[] = [];
  /** The VmOps the CPU backend calls for port I/O and MMIO. */
  readonly vmOps: VmOps;
  private readonly isaLevels = new Uint8Array(16);
  private readonly pamAliases: MemoryRegion[] = [];
  private readonly barRegions = new Map<string, MemoryRegion>();
  private pmIoBase: number | null = null;
  private readonly ioBars = new Map<string, number>();

  constructor(private readonly opts: PcBoardOptions) {
    const { bios, clock } = opts;
    this.clock = clock;
    if (bios.length < 0x10000 || bios.length % 0x10000 !== 0 || bios.length > 16 * 1024 * 1024) {
      throw new Error(`BIOS image must be a multiple of 64 KiB between 64 KiB and 16 MiB (got ${bios.length} bytes)`);
    }
    const layout = pcRamLayout(opts.memoryBytes);
    if (layout.above4gBytes > 0) throw new Error(`--memory: at most ${layout.below4gBytes} bytes are supported below 4 GiB for now`);
    const vramBytes = 16 * 1024 * 1024;
    this.mem = new GuestMemory(opts.memoryBytes, pageAlign(bios.length) + vramBytes + PAGE_SIZE, opts.alignWindow);
    const biosBlock = this.mem.allocate('bios', bios.length);
    this.mem.u8.set(bios, biosBlock.offset);

    // ----- memory map -----
    this.addressSpace = new AddressSpace({ physMap: this.physMap, memory: this.mem, log: opts.log });
    const as = this.addressSpace;
    const ramBlock = this.mem.block('ram')!;
    const ram = as.ram('pc.ram', ramBlock, 0, opts.memoryBytes);
    const biosRom = as.rom('pc.bios', biosBlock, 0, bios.length);
    as.transaction(() => {
      as.root.addSubregion(ram, 0);
      as.root.addSubregion(biosRom, FOUR_GIB - bios.length);
      const isaBios = as.alias('isa-bios', biosRom, bios.length - ISA_BIOS_BYTES, ISA_BIOS_BYTES);
      isaBios.setReadonly(true);
      as.root.addSubregion(isaBios, 0x100000 - ISA_BIOS_BYTES, { priority: 1 });
      for (const r of PAM_REGIONS) {
        const alias = as.alias(`pam-ram-${r.index}`, ram, r.gpa, r.sizeBytes);
        alias.setEnabled(false);
        as.root.addSubregion(alias, r.gpa, { priority: 2 });
        this.pamAliases[r.index] = alias;
      }
    });

    // ----- interrupt controllers -----
    const cpus = opts.cpus ?? 1;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > PC_MAX_CPUS) throw new RangeError(`cpus: expected 1 to ${PC_MAX_CPUS}, got ${cpus}`);
    this.cpus = cpus;
    const acpi = resolveAcpiConfig({ cpus, hpet: true, pmBase: PM_BASE });
    this.ioapic = new Ioapic({
      initialId: acpi.ioapicId,
      deliver: (msg) => this.router.deliverFromIoapic(msg),
      log: opts.log,
    });
    as.root.addSubregion(as.mmio('ioapic', 0x1000, this.ioapic.mmio), 0xfec00000);
    this.pic = new I8259({ onIntr: (level) => this.router.setPicIntr(level), log: opts.log });
    // APIC ID = CPU index, so the router's APIC IDs are the machine's CPU indices.
    this.router = new InterruptRouter({
      pic: this.pic,
      onNmi: (id) => opts.onNmi?.(id),
      onInit: (id) => (opts.onInit ? opts.onInit(id) : opts.log?.(`apic: INIT for CPU ${id} ignored (no handler)`)),
      onStartup: (id, v) => (opts.onStartup ? opts.onStartup(id, v) : opts.log?.(`apic: STARTUP ${v} for CPU ${id} ignored (no handler)`)),
      onInterruptPending: (id) => opts.onIntr(true, id),
      log: opts.log,
    });
    const lapics: LocalApic[] = [];
    for (let i = 0; i < cpus; i++) {
      const lapic = new LocalApic({
        apicId: i, bsp: i === 0, clock, scheduler: clock, bus: this.router,
        eoiBroadcast: (v) => this.ioapic.eoi(v),
        onBaseChange: (gpa, enabled) => this.mapLapic(i, gpa, enabled),
        log: opts.log,
      });
      this.router.addLapic(lapic);
      lapics.push(lapic);
      this.apicPage.push(lapic.baseGpa);
    }
    this.lapics = lapics;
    this.lapic = lapics[0]!;
    this.syncLapicRegions();
    this.register(0x20, 2, 'i8259-master', this.pic.masterIo);
    this.register(0xa0, 2, 'i8259-slave', this.pic.slaveIo);
    this.register(0x4d0, 2, 'elcr', this.pic.elcrIo);
    this.devices.push(this.pic, ...lapics);

    // ----- timers -----
    this.pit = new I8254({ irq: irqLine((level) => { this.pitLevel = level; if (!this.hpetLegacy && !this.kernelIrqchip) this.setIsaIrq(0, level); }), clock, scheduler: clock });
    this.register(0x40, 4, 'i8254', this.pit.io);
    this.port61 = new Port61({ pit: this.pit, clock });
    this.register(0x61, 1, 'port61', this.port61.io);
    this.devices.push(this.pit, this.port61);
    this.hpet = new Hpet({
      clock, scheduler: clock,
      legacyIrq0: irqLine((level) => { if (this.hpetLegacy) this.setIsaIrq(0, level); }),
      legacyIrq8: irqLine((level) => { if (this.hpetLegacy) this.setIsaIrq(8, level); }),
      ioapicPin: (pin) => irqLine((level) => (this.kernelIrqchip ? this.kernelIrqchip.setIrq(pin, level) : this.ioapic.setIrq(pin, level))),
      onLegacyRouteChange: (enabled) => {
        this.hpetLegacy = enabled;
        this.kernelIrqchip?.setHpetLegacy(enabled);
        this.setIsaIrq(0, enabled || this.kernelIrqchip ? false : this.pitLevel);
        this.setIsaIrq(8, enabled ? false : this.rtcLevel);
      },
      log: opts.log,
    });
    as.root.addSubregion(as.mmio('hpet', 0x400, this.hpet.mmio), 0xfed00000);
    this.devices.push(this.ioapic, this.hpet);

    // ----- RTC / CMOS -----
    this.rtc = new Mc146818({ irq: irqLine((level) => { this.rtcLevel = level; if (!this.hpetLegacy) this.setIsaIrq(8, level); }), clock, scheduler: clock, startTimeMs: opts.rtcStart.getTime(), log: opts.log });
    this.register(0x70, 2, 'mc146818', this.rtc.io);
    this.cmosBytes = cmosMemoryBytes(layout, cpus);
    this.devices.push(this.rtc);

    // ----- serial -----
    this.com1 = new Uart16550({
      id: 'com1', irq: this.isaIrq(4), clock, scheduler: clock,
      sink: (byte) => opts.serialOut?.(Uint8Array.of(byte)),
      onRxDrained: () => opts.onSerialRxDrained?.(),
      log: opts.log,
    });
    this.register(0x3f8, 8, 'com1', this.com1.io);
    this.devices.push(this.com1);

    // ----- keyboard controller: PS/2 keyboard (IRQ1) and mouse (IRQ12), A20 and reset lines -----
    this.kbc = new I8042({
      irqKbd: this.isaIrq(1), irqMouse: this.isaIrq(12),
      setA20: opts.setA20, reset: opts.onResetRequest, log: opts.log,
    });
    this.register(0x60, 1, 'i8042-data', this.kbc.dataIo);
    this.register(0x64, 1, 'i8042-command', this.kbc.commandIo);
    this.devices.push(this.kbc);

    // ----- system control, debug -----
    this.port92 = new Port92({ setA20: opts.setA20, reset: opts.onResetRequest });
    this.register(0x92, 1, 'port92', this.port92.io);
    this.register(0x80, 1, 'post', this.postPort.io);
    const debugSink = (byte: number): void => opts.debugconOut?.(Uint8Array.of(byte));
    const debugcon = new DebugCon({ sink: debugSink, id: 'debugcon-e9' });
    const biosDebug = new DebugCon({ sink: debugSink, id: 'debugcon-402' });
    this.register(0xe9, 1, 'debugcon', debugcon.io);
    this.register(0x402, 1, 'debugcon-402', biosDebug.io);
    const debugExit = new IsaDebugExit({ exit: opts.onDebugExit });
    this.register(0xf4, 1, 'isa-debug-exit', debugExit.io);
    this.devices.push(this.port92, this.postPort, debugcon, biosDebug, debugExit);

    // ----- PCI -----
    this.pciBus = new PciBus({
      mapIntx: piix3SlotToPirq,
      onPirqLevel: (pirq, level) => this.piix3.setPirqLevel(pirq, level),
    });
    this.i440fx = new I440fx({
      ramSizeBytes: opts.memoryBytes,
      onPamChange: (index, readFromRam, writeToRam) => this.setPam(index, readFromRam, writeToRam),
      log: opts.log,
    });
    this.piix3 = new Piix3({
      setIsaIrq: (irq, level) => this.setIsaIrq(irq, level),
      onResetRequest: () => opts.onResetRequest(),
      log: opts.log,
    });
    this.pm = new Piix4Pm({
      clock, scheduler: clock,
      sci: this.isaIrq(9),
      onPmIoChange: (base) => this.movePmIo(base),
      onPowerOff: opts.onPowerOff,
      log: opts.log,
    });
    this.register(GPE0_BASE, 4, 'piix4-gpe0', this.pm.gpe0);
    this.pciHost = new PciHost(this.pciBus, { resetControl: this.piix3.resetControl, log: opts.log });
    // CONFIG_ADDRESS is a dword port; the PciHost hands byte accesses at 0xCF9 to the PIIX3 RCR.
    this.register(0xcf8, 4, 'pci-config-address', this.pciHost.addressPort);
    this.register(0xcfc, 4, 'pci-config-data', this.pciHost.dataPort);
    this.pciBus.add(0, 0, this.i440fx);
    this.pciBus.add(1, 0, this.piix3);
    this.ide = new Piix3Ide({
      irqPrimary: this.isaIrq(14), irqSecondary: this.isaIrq(15),
      memory: { read: (gpa, dest) => this.dmaRead(gpa, dest), write: (gpa, src) => this.dmaWrite(gpa, src) },
      onBarChange: (_bar, _kind, address) => this.moveIoBar('piix3-ide-bm', address, 16, this.ide.busMasterIo),
      onAsyncCompletion: opts.onAsyncCompletion,
      log: opts.log,
    });
    this.register(0x1f0, 8, 'ide-primary', this.ide.primaryIo);
    this.register(0x3f6, 1, 'ide-primary-ctl', this.ide.primaryCtl);
    this.register(0x170, 8, 'ide-secondary', this.ide.secondaryIo);
    this.register(0x376, 1, 'ide-secondary-ctl', this.ide.secondaryCtl);
    for (const d of opts.drives ?? []) {
      const { channel, unit } = d.slot;
      if (d.kind === 'disk') {
        if (!d.backend) throw new Error(`IDE ${channel}.${unit}: a disk needs an image`);
        this.ide.attach(channel, unit, new AtaDisk({ id: `ide${channel}-hd${unit}`, backend: d.backend }));
      } else {
        const cd = new AtapiCdrom({ id: `ide${channel}-cd${unit}`, medium: d.backend });
        this.cdroms.set(`${channel}.${unit}`, cd);
        this.ide.attach(channel, unit, cd);
      }
    }
    this.pciBus.add(1, 1, this.ide);
    this.pciBus.add(1, 3, this.pm);
    this.piix3.setMultiFunction(true);
    this.apm = new Apm({ onControlWrite: (v) => this.pm.apmCommand(v) });
    this.register(0xb2, 2, 'apm', this.apm.io);
    this.devices.push(this.pciHost, this.i440fx, this.piix3, this.ide, this.pm, this.apm);

    // ----- VGA (QEMU stdvga: PCI 1234:1111, BAR0 = LFB, BAR2 = MMIO registers) -----
    this.vga = new StdVga({ memory: this.mem, clock, vramBytes });
    this.register(VGA_IO_BASE, VGA_IO_LENGTH, 'vga', this.vga.ioPorts);
    this.register(DISPI_IO_BASE, DISPI_IO_LENGTH, 'bochs-dispi', this.vga.dispiPorts);
    as.root.addSubregion(as.mmio('vga-lowmem', VGA_LEGACY_LENGTH, this.vga.legacyWindow), VGA_LEGACY_GPA, { priority: 1 });
    this.vgaPci = new PciFunction({
      id: 'vga-pci', vendorId: 0x1234, deviceId: 0x1111, revision: 0x02, classCode: 0x030000,
      bars: [{ kind: 'mem32', sizeBytes: vramBytes, prefetchable: true }, null, { kind: 'mem32', sizeBytes: 0x1000 }],
      onBarChange: (bar, kind, address, size) => this.moveBar('vga', bar, kind, address, size),
      log: opts.log,
    });
    this.pciBus.add(2, 0, this.vgaPci);
    this.devices.push(this.vga, this.vgaPci);

    // ----- virtio (QEMU's identities, so the virtio-win drivers bind) -----
    const v = opts.virtio ?? {};
    if (v.net) this.addVirtio(3, new VirtioNet({ id: 'virtio-net0', mac: v.net.mac, backend: v.net.backend }));
    (v.disks ?? []).forEach((d, i) => {
      const slot = i === 0 ? 4 : 9 + i;
      this.addVirtio(slot, new VirtioBlk({ id: `virtio-blk${i}`, backend: d.backend, serial: d.serial, readOnly: d.backend.readOnly }));
    });
    if (v.serial) {
      const { onAgentData } = v.serial;
      this.virtioSerial = new VirtioConsole({
        id: 'virtio-serial0',
        ports: [
          { name: '', console: true, onGuestData: () => {} },
          { name: 'org.qemu.guest_agent.0', onGuestData: onAgentData },
        ],
      });
      this.addVirtio(5, this.virtioSerial);
    }
    if (v.rng) this.addVirtio(6, new VirtioRng({ id: 'virtio-rng0', entropy: v.rng }));
    if (v.balloon) {
      this.virtioBalloon = new VirtioBalloon({ id: 'virtio-balloon0', ramBytes: opts.memoryBytes });
      this.addVirtio(7, this.virtioBalloon);
    }
    if (v.scsi && v.scsi.length > 0) {
      this.virtioScsi = new VirtioScsi({ id: 'virtio-scsi0', units: v.scsi, onIoError: (e) => opts.log?.(`virtio-scsi0: ${String(e)}`) });
      this.addVirtio(VIRTIO_SCSI_SLOT, this.virtioScsi);
    }
    if (v.tablet) {
      this.virtioTablet = new VirtioInput({ id: 'virtio-tablet0', kind: 'tablet' });
      this.addVirtio(VIRTIO_TABLET_SLOT, this.virtioTablet);
    }
    this.renderer = new VgaRenderer(this.vga);

    // ----- fw_cfg -----
    this.fwCfg = new FwCfg({
      dma: {
        read: (gpa, dest) => this.dmaRead(gpa, dest),
        write: (gpa, src) => this.dmaWrite(gpa, src),
      },
      log: opts.log,
    });
    this.register(0x510, 2, 'fw-cfg', this.fwCfg.ioPort);
    this.register(0x514, 8, 'fw-cfg-dma', this.fwCfg.dmaPort);
    this.setupFwCfg(layout.below4gBytes);
    for (const f of buildAcpiFwCfgFiles({ cpus, hpet: true, pmBase: PM_BASE }).files) this.fwCfg.addFile(f.name, f.bytes);
    this.devices.push(this.fwCfg);

    this.vmOps = this.cpuVmOps(0);
  }

  /**
   * The VmOps of CPU `cpuIndex`: port I/O and MMIO of the machine, except that the 4 KiB
   * at the CPU's own IA32_APIC_BASE reach its own local APIC (SDM Vol. 3A 11.4.1: each
   * processor sees its own APIC at the same address). `vmOps` is the BSP's.
   */
  cpuVmOps(cpuIndex: number): VmOps {
    const lapic = this.lapics[cpuIndex];
    if (lapic === undefined) throw new RangeError(`pc: no CPU ${cpuIndex}`);
    const pio = this.pio;
    const space = this.addressSpace;
    const page = this.apicPage;
    return {
      pioRead: (port, size) => pio.read(port, size),
      pioWrite: (port, size, value) => pio.write(port, size, value),
      mmioRead: (gpa, size) => {
        const off = gpa - page[cpuIndex]!;
        return off >= 0 && off < APIC_MMIO_SIZE ? lapic.mmio.read(off, size) : space.mmioRead(gpa, size);
      },
      mmioWrite: (gpa, size, value) => {
        const off = gpa - page[cpuIndex]!;
        if (off >= 0 && off < APIC_MMIO_SIZE) lapic.mmio.write(off, size, value);
        else space.mmioWrite(gpa, size, value);
      },
    };
  }

  /**
   * Hands interrupt delivery to a hypervisor's in-kernel irqchip (KVM with `irqchip:
   * 'kernel'`): from now on ISA IRQs (PIIX3 PIRQ routing included), the HPET's IOAPIC routes
   * and virtio MSI/MSI-X messages go to `chip`, and the HPET's legacy replacement mutes the
   * kernel's 8254. The TypeScript 8259, 8254, IOAPIC and local APICs stay on the board but
   * the kernel answers their ports and MMIO windows first, so they never see the guest and
   * the 8254's output is ignored. The ACPI tables, fw_cfg and PCI views are unchanged.
   */
  attachKernelIrqchip(chip: KernelIrqchip): void {
    this.kernelIrqchip = chip;
  }

  /** The IRQ line of ISA interrupt `n` (to the PIC; later also the IOAPIC). */
  isaIrq(n: number): IrqLine {
    return irqLine((level) => this.setIsaIrq(n, level));
  }

  /** Resets every device (power-on or hard reset) and the memory map's PAM state. */
  reset(): void {
    for (const d of this.devices) d.reset('hard');
    this.isaLevels.fill(0);
    // Lines the devices held up before the reset go down in the kernel too (24 GSIs: the IOAPIC's pins).
    if (this.kernelIrqchip) for (let gsi = 0; gsi < 24; gsi++) this.kernelIrqchip.setIrq(gsi, false);
    this.hpetLegacy = false;
    this.pitLevel = false;
    this.rtcLevel = false;
    // CMOS is battery-backed: (re)state what the firmware reads from it.
    for (const b of this.cmosBytes) this.rtc.setByte(b.index, b.value);
    setBootOrder(this.rtc, ['cdrom', 'disk']);
  }

  /** The text-mode screen as plain text, or a note when the display is in a graphics mode. */
  screenText(): string {
    return screenText(this.vga) ?? '(the display is in a graphics mode; use --screenshot)';
  }

  /** The current screen as PNG bytes. */
  screenshotPng(): Uint8Array {
    this.renderer.invalidate();
    const r = this.renderer.render();
    return encodePng(r.pixels, r.width, r.height);
  }

  /** ISA IRQ n reaches the PIC and the IOAPIC (pin n, except IRQ0 -> pin 2: the MADT override). */
  private setIsaIrq(n: number, level: boolean): void {
    this.isaLevels[n] = level ? 1 : 0;
    if (this.kernelIrqchip) { this.kernelIrqchip.setIrq(n, level); return; }
    this.pic.setIrq(n, level);
    this.ioapic.setIrq(n === 0 ? 2 : n, level);
  }

  private register(base: number, length: number, name: string, handler: IoHandler): void {
    this.pio.register(base, length, name, handler);
  }

  private setPam(index: number, readFromRam: boolean, writeToRam: boolean): void {
    const alias = this.pamAliases[index];
    if (!alias) return;
    // QEMU models write-only mode (RE=0, WE=1) as PCI/ROM; so does Vireo.
    this.addressSpace.transaction(() => {
      alias.setEnabled(readFromRam);
      alias.setReadonly(!writeToRam);
    });
  }

  private movePmIo(base: number | null): void {
    if (this.pmIoBase !== null) this.pio.unregister(this.pmIoBase);
    this.pmIoBase = base;
    if (base !== null) this.pio.register(base, 64, 'piix4-pm', this.pm.pmIo);
  }

  /** Puts a virtio device on PCI slot `slot` (function 0, INTA#). */
  private addVirtio(slot: number, device: VirtioDevice): void {
    const id = (device as { id?: string }).id ?? `virtio-${slot}`;
    const pci: VirtioPci = new VirtioPci({
      id, device,
      memory: { read: (gpa, dest) => this.dmaRead(gpa, dest), write: (gpa, src) => this.dmaWrite(gpa, src) },
      deliverMsi: (address, data) => (this.kernelIrqchip ? this.kernelIrqchip.signalMsi(address, data) : this.router.deliverMsi(address, data)),
      irq: this.pciBus.intxLine(slot, 0, 1),
      onInterrupt: this.opts.onAsyncCompletion,
      onBarChange: (bar, kind, address, size) => {
        const h = pci.barHandler(bar);
        if (!h) return;
        if (kind === 'io') this.moveIoBar(`${id}.bar${bar}`, address, size, h);
        else this.moveMmioBar(`${id}.bar${bar}`, address, size, h);
      },
      log: this.opts.log,
    });
    this.pciBus.add(slot, 0, pci);
    this.devices.push(pci);
    this.virtio.set(id, pci);
  }

  /** A memory BAR moved: remap its MMIO region (32-bit space only; higher BARs are logged). */
  private moveMmioBar(key: string, address: number | null, size: number, handler: IoHandler): void {
    const as = this.addressSpace;
    as.transaction(() => {
      const old = this.barRegions.get(key);
      if (old) { as.root.removeSubregion(old); this.barRegions.delete(key); }
      if (address === null) return;
      if (address + size > FOUR_GIB) { this.opts.log?.(`${key}: BAR at 0x${address.toString(16)} above 4 GiB is not mapped`); return; }
      const region = as.mmio(key, size, handler);
      as.root.addSubregion(region, address, { priority: 1, mayOverlap: true });
      this.barRegions.set(key, region);
    });
  }

  /** CPU `cpuIndex`'s local APIC page moved or was (dis)abled through IA32_APIC_BASE. */
  private mapLapic(cpuIndex: number, gpa: number, enabled: boolean): void {
    if (enabled && (gpa < 0 || gpa + APIC_MMIO_SIZE > FOUR_GIB)) {
      this.opts.log?.(`apic: CPU ${cpuIndex} base 0x${gpa.toString(16)} outside the 32-bit space; page unmapped`);
      enabled = false;
    }
    this.apicPage[cpuIndex] = enabled ? gpa : NaN;
    this.syncLapicRegions();
  }

  /**
   * Keeps one MMIO region at every page some CPU's APIC occupies, so the interpreter's
   * page map sends those accesses to the CPU's VmOps (which answer them from its own APIC).
   * An access that still reaches a region comes from a CPU whose APIC is elsewhere: it reads
   * all ones and writes are dropped (hardware would go to the bus there).
   */
  private syncLapicRegions(): void {
    const want = new Set(this.apicPage.filter((p) => !Number.isNaN(p)));
    const have = this.lapicRegions;
    if (want.size === have.size && [...want].every((p) => have.has(p))) return;
    const as = this.addressSpace;
    as.transaction(() => {
      for (const [base, region] of have) {
        if (want.has(base)) continue;
        as.root.removeSubregion(region);
        have.delete(base);
      }
      for (const base of want) {
        if (have.has(base)) continue;
        const region = as.mmio(`lapic@${base.toString(16)}`, APIC_MMIO_SIZE, this.foreignApicPage);
        as.root.addSubregion(region, base, { priority: 4, mayOverlap: true });
        have.set(base, region);
      }
    });
  }

  /** Another CPU's APIC page, seen by a CPU whose own APIC is not there. */
  private readonly foreignApicPage: IoHandler = {
    minSize: 1,
    maxSize: 4,
    read: (_offset, size) => (size === 4 ? 0xffff_ffff : (1 << (size * 8)) - 1),
    write: (offset) => this.opts.log?.(`apic: write at +0x${offset.toString(16)} of another CPU's APIC page dropped`),
  };

  /** An I/O BAR moved: unregister the old ports, register the new ones. */
  private moveIoBar(name: string, address: number | null, length: number, handler: IoHandler): void {
    const old = this.ioBars.get(name);
    if (old !== undefined) this.pio.unregister(old);
    this.ioBars.delete(name);
    if (address === null) return;
    this.pio.register(address, length, name, handler);
    this.ioBars.set(name, address);
  }

  private moveBar(dev: 'vga', bar: number, kind: PciBarKind, address: number | null, size: number): void {
    const key = `${dev}.${bar}`;
    const old = this.barRegions.get(key);
    const as = this.addressSpace;
    if (kind === 'io') return; // no I/O BARs on the devices wired so far
    if (bar === PCI_ROM_SLOT) return; // the VGA BIOS comes through fw_cfg
    as.transaction(() => {
      if (old) { as.root.removeSubregion(old); this.barRegions.delete(key); }
      if (address === null) return;
      let region: MemoryRegion;
      if (bar === 0) region = as.ram('vga.lfb', this.vga.vram, 0, size);
      else region = as.mmio('vga.mmio', size, this.vga.mmioBar);
      as.root.addSubregion(region, address, { priority: 1, mayOverlap: true });
      this.barRegions.set(key, region);
    });
  }

  private setupFwCfg(below4g: number): void {
    const f = this.fwCfg;
    addPcFwCfgItems(f, { ramSizeBytes: this.opts.memoryBytes, cpus: this.cpus });
    f.addFile('etc/e820', encodeE820(firmwareE820({ below4gBytes: below4g, above4gBytes: 0 })));
    f.addFile('bootorder', encodeBootOrder(this.opts.bootOrder ?? []));
    if (this.opts.vgaBios) f.addFile('vgaroms/vgabios-stdvga.bin', this.opts.vgaBios);
  }

  /** DMA read for fw_cfg: guest-physical bytes, RAM only. */
  private dmaRead(gpa: number, dest: Uint8Array): boolean {
    if (gpa < 0 || gpa + dest.length > this.mem.ramBytes) return false;
    dest.set(this.mem.u8.subarray(gpa, gpa + dest.length));
    return true;
  }

  /**
   * Where a console's input goes: keys and relative motion to the i8042 (PS/2 keyboard and
   * mouse), absolute pointer positions to the virtio tablet while the guest drives it.
   */
  consoleInput(): InputSink {
    const kbc = this.kbc;
    const tablet = this.virtioTablet;
    return {
      keyDown: (code) => kbc.keyDown(code),
      keyUp: (code) => kbc.keyUp(code),
      mouseMove: (dx, dy, buttons, wheel) => kbc.mouseMove(dx, dy, buttons, wheel),
      pointerAbsolute: (x, y, width, height, mask, lastMask) => {
        if (!tablet?.driverActive) return false;
        tablet.pointerFromScreen(x, y, width, height, mask, lastMask);
        this.opts.onAsyncCompletion?.();
        return true;
      },
    };
  }

  private dmaWrite(gpa: number, src: Uint8Array): boolean {
    if (gpa < 0 || gpa + src.length > this.mem.ramBytes) return false;
    this.mem.u8.set(src, gpa);
    // Device writes bypass the CPU's stores: drop decoded instructions cached from these pages.
    this.mem.notifyWrite(gpa, src.length);
    return true;
  }
}

function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

