/**
 * virtio network device (virtio 1.2 §5.1) over a NetBackend: queues receiveq1 (0),
 * transmitq1 (1) and controlq (2), features VIRTIO_NET_F_MAC, STATUS, MRG_RXBUF,
 * CTRL_VQ, CTRL_RX and CTRL_VLAN, configuration `mac[6]`, `status` (LINK_UP), and
 * `max_virtqueue_pairs` (1).
 *
 * Control queue (§5.1.6.5): RX mode, MAC table, VLAN filter and announce commands are
 * acknowledged with VIRTIO_NET_OK and recorded but filter nothing (every frame reaches
 * the guest, whose stack filters); the virtio-win NetKVM driver fails to start when such
 * commands are refused (cloud-hypervisor issue #7925). Unknown classes get VIRTIO_NET_ERR.
 *
 * The header (§5.1.6) is 12 bytes with VIRTIO_F_VERSION_1 or MRG_RXBUF, else the legacy
 * 10 bytes. No offloads are offered, so transmitted headers carry nothing the device
 * needs (flags/gso are ignored) and received frames get an all-zero header with
 * `num_buffers`. With MRG_RXBUF a frame spans as many receive chains as it needs
 * (§5.1.6.3.2), and waits while the guest has posted too few; without it a frame that
 * does not fit one chain is dropped (counted).
 * Frames arriving while the guest has posted no receive buffers wait in a bounded
 * queue (`rxQueueLimit`, oldest kept, newest dropped), as a NIC's FIFO would.
 *
 * Left out: real RX filtering, CTRL_MAC_ADDR, GUEST_ANNOUNCE, multiqueue, checksum and segmentation offloads, MTU, RSS, speed/duplex.
 */
import type { AccessSize, DeviceState } from '../device.js';
import { NET_MAX_FRAME_BYTES, type NetBackend } from '../../net/net-backend.js';
import type { DescriptorChain } from './descriptor-chain.js';
import { VIRTIO_F_VERSION_1, VIRTIO_ID_NET } from './virtio-constants.js';
import type { VirtioDevice, VirtioDeviceContext } from './virtio-device.js';
import { readLe } from './virtio-device.js';
import { obj, version } from '../state-check.js';

/** Feature bits (§5.1.3). */
export const VIRTIO_NET_F_MAC = 1n << 5n;
export const VIRTIO_NET_F_MRG_RXBUF = 1n << 15n;
export const VIRTIO_NET_F_STATUS = 1n << 16n;
export const VIRTIO_NET_F_CTRL_VQ = 1n << 17n;
export const VIRTIO_NET_F_CTRL_RX = 1n << 18n;
export const VIRTIO_NET_F_CTRL_VLAN = 1n << 19n;
/** Control classes (§5.1.6.5). */
export const VIRTIO_NET_CTRL_RX = 0;
export const VIRTIO_NET_CTRL_MAC = 1;
export const VIRTIO_NET_CTRL_VLAN = 2;
export const VIRTIO_NET_CTRL_ANNOUNCE = 3;
/** Control acks. */
export const VIRTIO_NET_OK = 0;
export const VIRTIO_NET_ERR = 1;
/** status: link up. */
export const VIRTIO_NET_S_LINK_UP = 1;
/** Queue indices. */
export const VIRTIO_NET_RXQ = 0;
export const VIRTIO_NET_TXQ = 1;
export const VIRTIO_NET_CTRLQ = 2;

const QUEUE_SIZE = 256;
const CONFIG_BYTES = 10;

/** Construction options of a virtio-net device. */
export interface VirtioNetOptions {
  readonly id: string;
  /** The 6-byte MAC address (QEMU's default prefix is 52:54:00). */
  readonly mac: Uint8Array;
  readonly backend: NetBackend;
  /** Frames kept while the guest has no receive buffers (default 256). */
  readonly rxQueueLimit?: number;
}

/** virtio-net with one queue pair, no offloads. */
export class VirtioNet implements VirtioDevice {
  readonly id: string;
  readonly deviceType = VIRTIO_ID_NET;
  readonly queueMaxSizes = [QUEUE_SIZE, QUEUE_SIZE, 64];
  readonly deviceFeatures = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MRG_RXBUF
    | VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_CTRL_RX | VIRTIO_NET_F_CTRL_VLAN;
  /** The last control commands seen, by "class.command" (informational: nothing is filtered). */
  readonly controlLog = new Map<string, number>();
  readonly configSizeBytes = CONFIG_BYTES;
  /** Counters. */
  readonly stats = { txFrames: 0, rxFrames: 0, rxDropped: 0, txDropped: 0 };
  private readonly config = new Uint8Array(CONFIG_BYTES);
  private readonly backend: NetBackend;
  private readonly rxLimit: number;
  private readonly rxPending: Uint8Array[] = [];
  private ctx: VirtioDeviceContext | null = null;

  constructor(opts: VirtioNetOptions) {
    if (opts.mac.length !== 6) throw new RangeError(`VirtioNet ${opts.id}: MAC must be 6 bytes`);
    this.id = opts.id;
    this.backend = opts.backend;
    this.rxLimit = opts.rxQueueLimit ?? 256;
    this.config.set(opts.mac, 0);
    this.config[6] = VIRTIO_NET_S_LINK_UP;
    this.config[8] = 1; // max_virtqueue_pairs
    this.backend.onReceive((frame) => this.receive(frame));
  }

  /** Sets the link state reported in `status` and signals a config change. */
  setLinkUp(up: boolean): void {
    this.config[6] = up ? VIRTIO_NET_S_LINK_UP : 0;
    this.ctx?.configChanged();
  }

  readConfig(offset: number, size: AccessSize): number {
    return readLe(this.config, offset, size);
  }

  writeConfig(offset: number, size: AccessSize, value: number): void {
    // Legacy drivers without CTRL_MAC_ADDR may write the MAC (§5.1.4 legacy note).
    if (offset + size <= 6) {
      for (let i = 0; i < size; i++) this.config[offset + i] = (value >>> (8 * i)) & 0xff;
      return;
    }
    this.ctx?.misuse(`${this.id}: write to read-only config offset ${offset}`);
  }

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
    this.queueNotify(VIRTIO_NET_CTRLQ);
    this.queueNotify(VIRTIO_NET_TXQ);
    this.queueNotify(VIRTIO_NET_RXQ);
  }

  queueNotify(index: number): void {
    const ctx = this.ctx;
    if (!ctx?.live) return;
    if (index === VIRTIO_NET_TXQ) this.transmit(ctx);
    else if (index === VIRTIO_NET_RXQ) this.flushRx(ctx);
    else if (index === VIRTIO_NET_CTRLQ) this.control(ctx);
  }

  reset(): void {
    this.ctx = null;
    this.rxPending.length = 0;
  }

  saveState(): DeviceState {
    return { v: 1, mac: [...this.config.subarray(0, 6)], linkUp: this.config[6] === VIRTIO_NET_S_LINK_UP };
  }

  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    const mac = s['mac'];
    if (!Array.isArray(mac) || mac.length !== 6 || !mac.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) throw new Error(`${this.id}.mac: 6 bytes expected`);
    if (typeof s['linkUp'] !== 'boolean') throw new Error(`${this.id}.linkUp: boolean expected`);
    this.config.set(mac as number[], 0);
    this.config[6] = s['linkUp'] ? VIRTIO_NET_S_LINK_UP : 0;
    this.rxPending.length = 0;
  }

  // ---- data path ---------------------------------------------------------------------

  private headerBytes(ctx: VirtioDeviceContext): number {
    return (ctx.features & (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MRG_RXBUF)) !== 0n ? 12 : 10;
  }

  private control(ctx: VirtioDeviceContext): void {
    const q = ctx.queue(VIRTIO_NET_CTRLQ);
    if (!q || (ctx.features & VIRTIO_NET_F_CTRL_VQ) === 0n) return;
    let any = false;
    for (let c = q.pop(ctx.memory); c !== null; c = q.pop(ctx.memory)) {
      any = true;
      const hdr = new Uint8Array(2);
      if (c.readableBytes < 2 || c.writableBytes < 1 || !c.read(ctx.memory, 0, hdr)) {
        ctx.misuse(`${this.id}: malformed control command (${c.readableBytes} readable, ${c.writableBytes} writable bytes)`);
        ctx.addUsed(VIRTIO_NET_CTRLQ, c.head, 0);
        continue;
      }
      const [cls, cmd] = [hdr[0]!, hdr[1]!];
      const known = cls === VIRTIO_NET_CTRL_RX || cls === VIRTIO_NET_CTRL_MAC || cls === VIRTIO_NET_CTRL_VLAN || cls === VIRTIO_NET_CTRL_ANNOUNCE;
      if (known) this.controlLog.set(`${cls}.${cmd}`, (this.controlLog.get(`${cls}.${cmd}`) ?? 0) + 1);
      else ctx.misuse(`${this.id}: unknown control class ${cls} command ${cmd}`);
      const ack = Uint8Array.of(known ? VIRTIO_NET_OK : VIRTIO_NET_ERR);
      if (!c.write(ctx.memory, c.writableBytes - 1, ack)) { ctx.needsReset(`${this.id}: cannot write a control ack`); return; }
      ctx.addUsed(VIRTIO_NET_CTRLQ, c.head, 1);
    }
    if (any) ctx.signal(VIRTIO_NET_CTRLQ);
  }

  private transmit(ctx: VirtioDeviceContext): void {
    const q = ctx.queue(VIRTIO_NET_TXQ);
    if (!q) return;
    const hdr = this.headerBytes(ctx);
    let any = false;
    for (let c = q.pop(ctx.memory); c !== null; c = q.pop(ctx.memory)) {
      any = true;
      const len = c.readableBytes - hdr;
      if (len < 14 || len > NET_MAX_FRAME_BYTES) {
        this.stats.txDropped++;
        ctx.misuse(`${this.id}: transmit of ${c.readableBytes} bytes (header ${hdr})`);
      } else {
        const frame = new Uint8Array(len);
        if (c.read(ctx.memory, hdr, frame)) {
          this.stats.txFrames++;
          this.backend.send(frame);
        } else {
          this.stats.txDropped++;
          ctx.misuse(`${this.id}: cannot read a transmit buffer`);
        }
      }
      ctx.addUsed(VIRTIO_NET_TXQ, c.head, 0);
    }
    if (any) ctx.signal(VIRTIO_NET_TXQ);
  }

  private receive(frame: Uint8Array): void {
    if (frame.length > NET_MAX_FRAME_BYTES) { this.stats.rxDropped++; return; }
    if (this.rxPending.length >= this.rxLimit) { this.stats.rxDropped++; return; }
    this.rxPending.push(frame);
    const ctx = this.ctx;
    if (ctx?.live) this.flushRx(ctx);
  }

  private flushRx(ctx: VirtioDeviceContext): void {
    const q = ctx.queue(VIRTIO_NET_RXQ);
    if (!q) return;
    const mergeable = (ctx.features & VIRTIO_NET_F_MRG_RXBUF) !== 0n;
    const hdrBytes = this.headerBytes(ctx);
    let any = false;
    while (this.rxPending.length > 0 && q.hasAvailable(ctx.memory)) {
      const frame = this.rxPending[0]!;
      const packet = new Uint8Array(hdrBytes + frame.length);
      packet.set(frame, hdrBytes);
      const chains: DescriptorChain[] = [];
      let room = 0;
      // Gather chains until the packet fits (one chain without MRG_RXBUF).
      while (room < packet.length) {
        const c = q.pop(ctx.memory);
        if (c === null) break;
        chains.push(c);
        room += c.writableBytes;
        if (!mergeable) break;
      }
      if (room < packet.length) {
        if (q.broken !== null) return;
        if (mergeable && chains.length > 0 && chains.length < q.size) {
          // Too few buffers posted for this frame: give them back and wait for more
          // (the next notify of the receive queue retries). A frame larger than a full
          // ring of buffers can never fit and is dropped below.
          q.undoPop(ctx.memory, chains.length);
          break;
        }
        // Without MRG_RXBUF the frame cannot fit one chain: drop it, return the chain empty.
        this.rxPending.shift();
        this.stats.rxDropped++;
        for (const c of chains) ctx.addUsed(VIRTIO_NET_RXQ, c.head, 0);
        any ||= chains.length > 0;
        continue;
      }
      if (mergeable) new DataView(packet.buffer).setUint16(10, chains.length, true);
      let at = 0;
      for (const c of chains) {
        const n = Math.min(c.writableBytes, packet.length - at);
        if (!c.write(ctx.memory, 0, packet.subarray(at, at + n))) {
          ctx.needsReset(`${this.id}: cannot write a receive buffer`);
          return;
        }
        ctx.addUsed(VIRTIO_NET_RXQ, c.head, n);
        at += n;
      }
      this.rxPending.shift();
      this.stats.rxFrames++;
      any = true;
    }
    if (any) ctx.signal(VIRTIO_NET_RXQ);
  }
}
