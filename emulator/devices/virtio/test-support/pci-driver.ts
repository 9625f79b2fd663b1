/**
 * A driver-side rig for tests: brings a virtio device up through the PCI transport the
 * way Linux's virtio_pci_modern does (walk the vendor capabilities, negotiate features,
 * set up queues in a MockGuestMemory, DRIVER_OK), and records interrupts.
 */
import { irqLine } from '../../device.js';
import { PCI_CAPABILITY_LIST, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../pci/pci-function.js';
import { PCI_MSIX_FLAGS_ENABLE } from '../msix.js';
import {
  VIRTIO_STATUS_ACKNOWLEDGE, VIRTIO_STATUS_DRIVER, VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_FEATURES_OK,
} from '../virtio-constants.js';
import type { VirtioDevice } from '../virtio-device.js';
import {
  PCI_CAP_ID_VNDR, VIRTIO_PCI_COMMON_DF, VIRTIO_PCI_COMMON_DFSELECT, VIRTIO_PCI_COMMON_GF, VIRTIO_PCI_COMMON_GFSELECT,
  VIRTIO_PCI_COMMON_Q_AVAILHI, VIRTIO_PCI_COMMON_Q_AVAILLO, VIRTIO_PCI_COMMON_Q_DESCHI, VIRTIO_PCI_COMMON_Q_DESCLO,
  VIRTIO_PCI_COMMON_Q_ENABLE, VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_PCI_COMMON_Q_NOFF, VIRTIO_PCI_COMMON_Q_SELECT,
  VIRTIO_PCI_COMMON_Q_SIZE, VIRTIO_PCI_COMMON_Q_USEDHI, VIRTIO_PCI_COMMON_Q_USEDLO, VIRTIO_PCI_COMMON_STATUS,
  VirtioPci,
} from '../virtio-pci.js';
import { MockDriverQueue, MockGuestMemory } from './mock-driver.js';

/** One vendor capability as a driver parses it. */
export interface ParsedVirtioCap {
  readonly at: number;
  readonly cfgType: number;
  readonly bar: number;
  readonly offset: number;
  readonly length: number;
  readonly notifyOffMultiplier?: number;
}

/** Walks the capability list like virtio_pci_find_capability. */
export function parseVirtioCaps(pci: VirtioPci): ParsedVirtioCap[] {
  const out: ParsedVirtioCap[] = [];
  let at = pci.configRead(PCI_CAPABILITY_LIST, 1);
  for (let guard = 0; at !== 0 && guard < 48; guard++) {
    if (pci.configRead(at, 1) === PCI_CAP_ID_VNDR) {
      const cfgType = pci.configRead(at + 3, 1);
      out.push({
        at, cfgType, bar: pci.configRead(at + 4, 1), offset: pci.configRead(at + 8, 4), length: pci.configRead(at + 12, 4),
        ...(cfgType === 2 ? { notifyOffMultiplier: pci.configRead(at + 16, 4) } : {}),
      });
    }
    at = pci.configRead(at + 1, 1);
  }
  return out;
}

/** Options of `bringUp`. */
export interface BringUpOptions {
  /** Features the driver accepts (intersected with the offer); default all offered. */
  readonly accept?: bigint;
  /** Program MSI-X: vector i for queue i, the last vector for config. */
  readonly msix?: boolean;
  /** Queue sizes to use (default 16 each); 0 leaves a queue disabled. */
  readonly queueSizes?: readonly number[];
  readonly memoryBytes?: number;
}

/** A device brought up through the transport, and what the driver sees. */
export interface VirtioRig {
  readonly pci: VirtioPci;
  readonly mem: MockGuestMemory;
  readonly queues: ReadonlyArray<MockDriverQueue | undefined>;
  /** MSI messages delivered. */
  readonly msis: Array<{ address: number; data: number }>;
  /** Current INTx level. */
  readonly irq: { level: boolean };
  /** Misuse log lines. */
  readonly log: string[];
  /** Writes the notify doorbell of queue `index`. */
  notify(index: number): void;
  /** Reads common configuration. */
  common(offset: number, size: 1 | 2 | 4): number;
  /** Writes common configuration. */
  setCommon(offset: number, size: 1 | 2 | 4, value: number): void;
}

/** Brings `device` up through a VirtioPci with queues in fresh mock memory. */
export function bringUp(device: VirtioDevice, opts: BringUpOptions = {}): VirtioRig {
  const mem = new MockGuestMemory(opts.memoryBytes ?? 0x100000);
  const msis: Array<{ address: number; data: number }> = [];
  const irq = { level: false };
  const log: string[] = [];
  const pci = new VirtioPci({
    id: `pci.${device.id}`, device, memory: mem, deliverMsi: (address, data) => msis.push({ address, data }),
    irq: irqLine((l) => { irq.level = l; }), log: (m) => log.push(m),
  });
  pci.configWrite(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  const caps = parseVirtioCaps(pci);
  const commonCap = caps.find((c) => c.cfgType === 1)!;
  const notifyCap = caps.find((c) => c.cfgType === 2)!;
  const bar = pci.modernMmio;
  const common = (o: number, s: 1 | 2 | 4): number => bar.read(commonCap.offset + o, s);
  const setCommon = (o: number, s: 1 | 2 | 4, v: number): void => bar.write(commonCap.offset + o, s, v);

  setCommon(VIRTIO_PCI_COMMON_STATUS, 1, 0);
  setCommon(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
  setCommon(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
  let offered = 0n;
  for (let sel = 0; sel < 2; sel++) {
    setCommon(VIRTIO_PCI_COMMON_DFSELECT, 4, sel);
    offered |= BigInt(common(VIRTIO_PCI_COMMON_DF, 4)) << BigInt(32 * sel);
  }
  const accepted = offered & (opts.accept ?? offered);
  for (let sel = 0; sel < 2; sel++) {
    setCommon(VIRTIO_PCI_COMMON_GFSELECT, 4, sel);
    setCommon(VIRTIO_PCI_COMMON_GF, 4, Number((accepted >> BigInt(32 * sel)) & 0xffffffffn));
  }
  setCommon(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
  if (!(common(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK)) throw new Error('bringUp: FEATURES_OK refused');

  const nq = device.queueMaxSizes.length;
  if (opts.msix) {
    const msixCap = pci.capOffsets.msix;
    pci.configWrite(msixCap + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    for (let v = 0; v < pci.msix.vectors; v++) {
      pci.msixMmio.write(16 * v, 4, 0xfee0_0000);
      pci.msixMmio.write(16 * v + 8, 4, 0x40 + v);
      pci.msixMmio.write(16 * v + 12, 4, 0);
    }
    setCommon(0x10, 2, pci.msix.vectors - 1);
  }
  const queues: Array<MockDriverQueue | undefined> = [];
  let base = 0x1000;
  const notifyOffs: number[] = [];
  for (let i = 0; i < nq; i++) {
    const size = opts.queueSizes?.[i] ?? Math.min(16, device.queueMaxSizes[i]!);
    setCommon(VIRTIO_PCI_COMMON_Q_SELECT, 2, i);
    notifyOffs.push(common(VIRTIO_PCI_COMMON_Q_NOFF, 2));
    if (size === 0) { queues.push(undefined); continue; }
    const d = new MockDriverQueue(mem, size, base, 0x8000);
    base = Math.ceil(d.endGpa / 0x1000) * 0x1000;
    setCommon(VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
    setCommon(VIRTIO_PCI_COMMON_Q_DESCLO, 4, d.descGpa);
    setCommon(VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
    setCommon(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, d.availGpa);
    setCommon(VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
    setCommon(VIRTIO_PCI_COMMON_Q_USEDLO, 4, d.usedGpa);
    setCommon(VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
    if (opts.msix) setCommon(VIRTIO_PCI_COMMON_Q_MSIX, 2, i % pci.msix.vectors);
    setCommon(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    queues.push(d);
  }
  setCommon(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
  const notify = (i: number): void => bar.write(notifyCap.offset + notifyOffs[i]! * notifyCap.notifyOffMultiplier!, 2, i);
  return { pci, mem, queues, msis, irq, log, notify, common, setCommon };
}
