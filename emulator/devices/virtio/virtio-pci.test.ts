import { describe, expect, it } from 'vitest';
import { irqLine } from '../device.js';
import { PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../pci/pci-function.js';
import { PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL, VIRTIO_MSI_NO_VECTOR } from './msix.js';
import { MockDriverQueue, MockGuestMemory } from './test-support/mock-driver.js';
import { bringUp, parseVirtioCaps } from './test-support/pci-driver.js';
import { VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_VERSION_1, VIRTIO_STATUS_DEVICE_NEEDS_RESET, VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_FEATURES_OK } from './virtio-constants.js';
import {
  VIRTIO_PCI_COMMON_DF, VIRTIO_PCI_COMMON_DFSELECT, VIRTIO_PCI_COMMON_GF, VIRTIO_PCI_COMMON_GFSELECT, VIRTIO_PCI_COMMON_NUMQ,
  VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_PCI_COMMON_Q_SELECT, VIRTIO_PCI_COMMON_Q_SIZE, VIRTIO_PCI_COMMON_STATUS,
  VIRTIO_PCI_HOST_FEATURES, VIRTIO_PCI_ISR, VIRTIO_PCI_ISR_OFFSET, VIRTIO_PCI_QUEUE_NOTIFY, VIRTIO_PCI_QUEUE_NUM,
  VIRTIO_PCI_QUEUE_PFN, VIRTIO_PCI_STATUS, VIRTIO_PCI_GUEST_FEATURES, VirtioPci,
} from './virtio-pci.js';
import { VirtioRng } from './virtio-rng.js';
import { VirtioNet } from './virtio-net.js';
import { NullNetBackend } from '../../net/null-backend.js';

const rng = (): VirtioRng => new VirtioRng({ id: 'rng0', entropy: (d) => d.fill(0xa5) });

describe('VirtioPci transport (virtio 1.2 §4.1)', () => {
  it('has QEMU-compatible ids and a capability list a Linux driver can parse', () => {
    const pci = new VirtioPci({ id: 'p', device: rng(), memory: new MockGuestMemory(16), deliverMsi: () => undefined });
    expect(pci.configRead(0, 4)).toBe(0x1005_1af4);
    expect(pci.configRead(0x2c, 4)).toBe(0x0004_1af4);
    expect(pci.configRead(8, 4)).toBe(0x00ff_0000); // revision 0, class 00ff00
    expect(pci.configRead(0x3d, 1)).toBe(1);
    const caps = parseVirtioCaps(pci);
    expect(caps.map((c) => c.cfgType)).toEqual([1, 3, 2, 5]); // no device cfg: rng has none
    for (const c of caps.filter((x) => x.cfgType !== 5)) expect(c.bar).toBe(4);
    expect(caps.find((c) => c.cfgType === 2)!.notifyOffMultiplier).toBe(4);
    const msix = pci.capOffsets.msix;
    expect(pci.configRead(msix, 1)).toBe(0x11);
    expect(pci.configRead(msix + 2, 2) & 0x7ff).toBe(1); // 2 vectors
    expect(pci.configRead(msix + 4, 4)).toBe(1); // table in BAR1 at 0
    expect(pci.configRead(msix + 8, 4)).toBe(0x801); // PBA in BAR1 at 0x800
    // BAR sizing: BAR4 64-bit prefetchable 16 KiB, BAR1 4 KiB, BAR0 I/O
    pci.configWrite(PCI_BASE_ADDRESS_0 + 16, 4, 0xffffffff);
    expect(pci.configRead(PCI_BASE_ADDRESS_0 + 16, 4)).toBe(0xffffc00c);
    pci.configWrite(PCI_BASE_ADDRESS_0 + 4, 4, 0xffffffff);
    expect(pci.configRead(PCI_BASE_ADDRESS_0 + 4, 4)).toBe(0xfffff000);
    expect(pci.configRead(PCI_BASE_ADDRESS_0, 4) & 1).toBe(1);
  });

  it('modern-only devices use 0x1040+id, revision 1, subsystem 0x1100 and no I/O BAR', () => {
    const dev = { ...rng(), deviceType: 18, queueMaxSizes: [64, 64] } as unknown as VirtioRng;
    const pci = new VirtioPci({ id: 'p', device: dev, memory: new MockGuestMemory(16), deliverMsi: () => undefined });
    expect(pci.configRead(0, 4)).toBe(0x1052_1af4);
    expect(pci.configRead(0x2c, 4)).toBe(0x1100_1af4);
    expect(pci.configRead(8, 1)).toBe(1);
    expect(pci.barHandler(0)).toBeUndefined();
  });

  it('negotiates features and refuses FEATURES_OK for unoffered bits', () => {
    const r = bringUp(rng());
    r.setCommon(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    expect(r.common(VIRTIO_PCI_COMMON_DF, 4) & 1).toBe(1); // VERSION_1
    expect(r.common(VIRTIO_PCI_COMMON_NUMQ, 2)).toBe(1);
    expect(r.pci.negotiatedFeatures & VIRTIO_F_VERSION_1).toBe(VIRTIO_F_VERSION_1);
    expect(r.pci.negotiatedFeatures & VIRTIO_F_RING_EVENT_IDX).toBe(VIRTIO_F_RING_EVENT_IDX);
    r.setCommon(VIRTIO_PCI_COMMON_STATUS, 1, 0);
    expect(r.common(VIRTIO_PCI_COMMON_STATUS, 1)).toBe(0);
    r.setCommon(VIRTIO_PCI_COMMON_STATUS, 1, 3);
    r.setCommon(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    r.setCommon(VIRTIO_PCI_COMMON_GF, 4, 1); // bit 0: not offered by rng
    r.setCommon(VIRTIO_PCI_COMMON_STATUS, 1, 3 | VIRTIO_STATUS_FEATURES_OK);
    expect(r.common(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK).toBe(0);
    // queue size: reads the max after reset; absent queues read 0
    r.setCommon(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    expect(r.common(VIRTIO_PCI_COMMON_Q_SIZE, 2)).toBe(256);
    r.setCommon(VIRTIO_PCI_COMMON_Q_SELECT, 2, 5);
    expect(r.common(VIRTIO_PCI_COMMON_Q_SIZE, 2)).toBe(0);
  });

  it('notify -> device -> used ring -> INTx with ISR read-to-clear', () => {
    const r = bringUp(rng(), { accept: VIRTIO_F_VERSION_1 });
    const posted = r.queues[0]!.post([{ writeLen: 8 }]);
    r.notify(0);
    expect(r.queues[0]!.takeUsed()).toEqual([{ id: posted.head, len: 8 }]);
    expect([...r.queues[0]!.read(posted.gpas[0]!, 8)]).toEqual(new Array(8).fill(0xa5));
    expect(r.irq.level).toBe(true);
    expect(r.pci.configRead(0x06, 2) & 0x08).toBe(8); // Status.INTERRUPT
    expect(r.pci.modernMmio.read(VIRTIO_PCI_ISR_OFFSET, 1)).toBe(1);
    expect(r.irq.level).toBe(false);
    expect(r.pci.modernMmio.read(VIRTIO_PCI_ISR_OFFSET, 1)).toBe(0);
    // INTX_DISABLE gates the line
    r.pci.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x400);
    r.queues[0]!.post([{ writeLen: 1 }]);
    r.notify(0);
    expect(r.irq.level).toBe(false);
    expect(r.pci.isrStatus).toBe(1);
  });

  it('MSI-X: vector programming, delivery, entry and function masking, pending bits', () => {
    const r = bringUp(rng(), { msix: true });
    r.setCommon(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    expect(r.common(VIRTIO_PCI_COMMON_Q_MSIX, 2)).toBe(0);
    r.setCommon(VIRTIO_PCI_COMMON_Q_MSIX, 2, 7); // beyond the 2-entry table
    expect(r.common(VIRTIO_PCI_COMMON_Q_MSIX, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
    r.setCommon(VIRTIO_PCI_COMMON_Q_MSIX, 2, 0);
    const q = r.queues[0]!;
    q.post([{ writeLen: 4 }]);
    r.notify(0);
    expect(r.msis).toEqual([{ address: 0xfee0_0000, data: 0x40 }]);
    expect(r.irq.level).toBe(false);
    // entry mask -> pending bit, unmask -> delivered
    r.pci.msixMmio.write(12, 4, 1);
    q.setUsedEvent(0xffff); q.post([{ writeLen: 4 }]); q.setUsedEvent(1);
    r.notify(0);
    expect(r.msis).toHaveLength(1);
    expect(r.pci.msixMmio.read(0x800, 4)).toBe(1);
    r.pci.msixMmio.write(12, 4, 0);
    expect(r.msis).toHaveLength(2);
    expect(r.pci.msixMmio.read(0x800, 4)).toBe(0);
    // function mask
    const ctl = r.pci.capOffsets.msix + 2;
    r.pci.configWrite(ctl, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    q.setUsedEvent(2); q.post([{ writeLen: 4 }]);
    r.notify(0);
    expect(r.msis).toHaveLength(2);
    expect(r.pci.msix.isPending(0)).toBe(true);
    r.pci.configWrite(ctl, 2, PCI_MSIX_FLAGS_ENABLE);
    expect(r.msis).toHaveLength(3);
    expect(r.pci.msixMmio.read(0, 4)).toBe(0xfee0_0000);
  });

  it('guest errors set DEVICE_NEEDS_RESET with a config interrupt; reset recovers', () => {
    const r = bringUp(rng(), { msix: true });
    r.queues[0]!.publish(200); // head out of range
    r.notify(0);
    expect(r.common(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
    expect(r.msis.at(-1)!.data).toBe(0x41); // config vector 1
    expect(r.log.some((l) => /needs reset/.test(l))).toBe(true);
    r.setCommon(VIRTIO_PCI_COMMON_STATUS, 1, 0);
    expect(r.common(VIRTIO_PCI_COMMON_STATUS, 1)).toBe(0);
    expect(r.pci.queues[0]!.broken).toBeNull();
  });

  it('drops DMA while bus mastering is off', () => {
    const r = bringUp(rng());
    r.pci.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    r.queues[0]!.post([{ writeLen: 4 }]);
    r.notify(0);
    expect(r.common(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
  });

  it('reads common config through the PCI configuration access capability', () => {
    const r = bringUp(rng());
    const cap = r.pci.capOffsets.pciCfg;
    r.pci.configWrite(cap + 4, 1, 4);
    r.pci.configWrite(cap + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
    r.pci.configWrite(cap + 12, 4, 2);
    expect(r.pci.configRead(cap + 16, 4)).toBe(1);
    r.pci.configWrite(cap + 8, 4, VIRTIO_PCI_COMMON_Q_SELECT);
    r.pci.configWrite(cap + 16, 4, 3);
    expect(r.common(VIRTIO_PCI_COMMON_Q_SELECT, 2)).toBe(3);
  });

  it('legacy I/O BAR0: features, PFN, notify, status and ISR (§4.1.4.8)', () => {
    const mem = new MockGuestMemory(0x40000);
    const irq = { level: false };
    let wakes = 0;
    const pci = new VirtioPci({ id: 'p', device: rng(), memory: mem, deliverMsi: () => undefined, irq: irqLine((l) => { irq.level = l; }), onInterrupt: () => { wakes++; } });
    pci.configWrite(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
    const io = pci.legacyIo;
    expect(io.read(VIRTIO_PCI_HOST_FEATURES, 4) & (1 << 28)).toBeTruthy(); // INDIRECT_DESC
    io.write(VIRTIO_PCI_STATUS, 1, 3);
    io.write(VIRTIO_PCI_GUEST_FEATURES, 4, 0);
    io.write(14, 2, 0);
    expect(io.read(VIRTIO_PCI_QUEUE_NUM, 2)).toBe(256);
    io.write(VIRTIO_PCI_QUEUE_PFN, 4, 0x10);
    expect(io.read(VIRTIO_PCI_QUEUE_PFN, 4)).toBe(0x10);
    io.write(VIRTIO_PCI_STATUS, 1, 7);
    const d = new MockDriverQueue(mem, 256, 0x10000, 0x1000);
    // the legacy used ring is 4 KiB aligned: re-derive like the driver would
    expect(pci.queues[0]!.usedGpa).toBe(0x10000 + 0x1000 + 0x1000);
    const q = pci.queues[0]!;
    const drv = Object.assign(d, {}) as MockDriverQueue;
    Object.defineProperty(drv, 'usedGpa', { value: q.usedGpa });
    drv.post([{ writeLen: 2 }]);
    io.write(VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
    expect(drv.takeUsed()).toHaveLength(1);
    expect(irq.level).toBe(true);
    expect(wakes).toBe(1);
    expect(io.read(VIRTIO_PCI_ISR, 1)).toBe(1);
    expect(irq.level).toBe(false);
    expect(pci.negotiatedFeatures).toBe(0n);
    io.write(VIRTIO_PCI_STATUS, 1, 0);
    expect(io.read(VIRTIO_PCI_QUEUE_PFN, 4)).toBe(0);
    expect(pci.deviceStatus & VIRTIO_STATUS_DRIVER_OK).toBe(0);
  });

  it('legacy device config moves from offset 20 to 24 when MSI-X is enabled', () => {
    const net = new VirtioNet({ id: 'n', mac: Uint8Array.of(0x52, 0x54, 0, 1, 2, 3), backend: new NullNetBackend() });
    const pci = new VirtioPci({ id: 'p', device: net, memory: new MockGuestMemory(16), deliverMsi: () => undefined });
    expect(pci.configRead(0, 4)).toBe(0x1000_1af4);
    expect(pci.configRead(0x2c, 4)).toBe(0x0001_1af4);
    expect(pci.legacyIo.read(20, 2)).toBe(0x5452);
    pci.configWrite(pci.capOffsets.msix + 2, 2, PCI_MSIX_FLAGS_ENABLE);
    expect(pci.legacyIo.read(24, 2)).toBe(0x5452);
    pci.legacyIo.write(22, 2, 1); // queue vector of queue 0
    expect(pci.legacyIo.read(22, 2)).toBe(1);
    // the modern view of the same config
    expect(pci.modernMmio.read(0x2000, 4)).toBe(0x0100_5452);
  });

  it('snapshot round trip, and a bad state is rejected without changes', () => {
    const r = bringUp(rng(), { msix: true });
    r.queues[0]!.post([{ writeLen: 4 }]);
    r.notify(0);
    const s1 = JSON.parse(JSON.stringify(r.pci.saveState())) as Record<string, unknown>;
    const other = new VirtioPci({ id: 'pci.rng0', device: rng(), memory: r.mem, deliverMsi: () => undefined });
    other.loadState(s1);
    expect(other.saveState()).toEqual(s1);
    const before = JSON.stringify(other.saveState());
    expect(() => other.loadState({ ...s1, queues: [{ ...(s1['queues'] as object[])[0], size: 3 }] })).toThrow();
    expect(() => other.loadState({ ...s1, v: 9 })).toThrow();
    expect(JSON.stringify(other.saveState())).toBe(before);
  });
});
