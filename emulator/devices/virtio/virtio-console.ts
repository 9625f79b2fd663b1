/**
 * virtio console / virtio-serial (virtio 1.2 §5.3) with VIRTIO_CONSOLE_F_MULTIPORT: port
 * 0 on queues 0/1, the control queues 2 (device -> driver) and 3 (driver -> device),
 * and port n >= 1 on queues 2 + 2n / 3 + 2n (§5.3.2). Ports are named (PORT_NAME) so
 * the guest creates /dev/virtio-ports/<name> (Linux) or the vioserial name (Windows):
 * `org.qemu.guest_agent.0` is what qemu-ga looks for. A port may be the console (hvc0).
 *
 * Control protocol (§5.3.6.2, struct virtio_console_control: le32 id, le16 event, le16
 * value): the driver sends DEVICE_READY; the device announces each port (DEVICE_ADD);
 * the driver answers PORT_READY; the device then sends CONSOLE_PORT (console ports),
 * PORT_NAME (name bytes follow) and PORT_OPEN (host side connected); the driver sends
 * PORT_OPEN when a guest program opens or closes the port.
 *
 * Bytes: guest -> host through `onGuestData` of the port; host -> guest with
 * `writeToGuest`, queued per port (bounded by `maxQueuedBytes`, overflow dropped and
 * counted) until the guest posts receive buffers. Without MULTIPORT negotiated only
 * port 0 exists (a plain console).
 *
 * Left out: EMERG_WRITE, console SIZE/RESIZE, hot-unplug (DEVICE_REMOVE), flow control
 * towards the host streams (the host is never blocked).
 */
import type { AccessSize, DeviceState } from '../device.js';
import { VIRTIO_ID_CONSOLE } from './virtio-constants.js';
import type { VirtioDevice, VirtioDeviceContext } from './virtio-device.js';
import { readLe } from './virtio-device.js';
import { obj, version } from '../state-check.js';

/** Feature bits (§5.3.3). */
export const VIRTIO_CONSOLE_F_SIZE = 1n << 0n;
export const VIRTIO_CONSOLE_F_MULTIPORT = 1n << 1n;
/** Control events (§5.3.6.2). */
export const VIRTIO_CONSOLE_DEVICE_READY = 0;
export const VIRTIO_CONSOLE_DEVICE_ADD = 1;
export const VIRTIO_CONSOLE_DEVICE_REMOVE = 2;
export const VIRTIO_CONSOLE_PORT_READY = 3;
export const VIRTIO_CONSOLE_CONSOLE_PORT = 4;
export const VIRTIO_CONSOLE_RESIZE = 5;
export const VIRTIO_CONSOLE_PORT_OPEN = 6;
export const VIRTIO_CONSOLE_PORT_NAME = 7;
/** The qemu-guest-agent port name. */
export const QEMU_GUEST_AGENT_PORT = 'org.qemu.guest_agent.0';

const QUEUE_SIZE = 128;
const CONTROL_RX = 2;
const CONTROL_TX = 3;
const CONFIG_BYTES = 12;
/** Largest control message accepted from the driver. */
const MAX_CONTROL_BYTES = 4096;

/** A host endpoint of one port. */
export interface ConsolePortSpec {
  /** Port name announced with PORT_NAME (empty: none). */
  readonly name: string;
  /** Announce as a console port (hvc). */
  readonly console?: boolean;
  /** Bytes the guest wrote to the port. */
  readonly onGuestData: (bytes: Uint8Array) => void;
  /** The guest opened (true) or closed (false) the port. */
  readonly onGuestOpen?: (open: boolean) => void;
  /** Whether the host side is connected at start (default true). */
  readonly hostConnected?: boolean;
}

/** Construction options of a virtio-console device. */
export interface VirtioConsoleOptions {
  readonly id: string;
  /** Ports 0..n-1 (n <= maxPorts). */
  readonly ports: readonly ConsolePortSpec[];
  /** max_nr_ports (default 8; QEMU uses 31). */
  readonly maxPorts?: number;
  /** Per-port bound on bytes waiting for guest buffers (default 1 MiB). */
  readonly maxQueuedBytes?: number;
}

interface PortState {
  readonly spec: ConsolePortSpec;
  hostConnected: boolean;
  guestOpen: boolean;
  ready: boolean;
  pending: Uint8Array[];
  pendingBytes: number;
}

/** virtio-serial with named ports. */
export class VirtioConsole implements VirtioDevice {
  readonly id: string;
  readonly deviceType = VIRTIO_ID_CONSOLE;
  readonly queueMaxSizes: readonly number[];
  readonly deviceFeatures = VIRTIO_CONSOLE_F_MULTIPORT;
  readonly configSizeBytes = CONFIG_BYTES;
  /** Host bytes dropped because a port's queue was full. */
  bytesDropped = 0;
  private readonly config = new Uint8Array(CONFIG_BYTES);
  private readonly ports: PortState[];
  private readonly maxQueued: number;
  private readonly controlOut: Uint8Array[] = [];
  private ctx: VirtioDeviceContext | null = null;

  constructor(opts: VirtioConsoleOptions) {
    const maxPorts = opts.maxPorts ?? 8;
    if (!Number.isInteger(maxPorts) || maxPorts < 1 || maxPorts > 511) throw new RangeError(`VirtioConsole ${opts.id}: maxPorts ${maxPorts}`);
    if (opts.ports.length > maxPorts) throw new RangeError(`VirtioConsole ${opts.id}: ${opts.ports.length} ports > maxPorts ${maxPorts}`);
    this.id = opts.id;
    this.maxQueued = opts.maxQueuedBytes ?? 1024 * 1024;
    this.queueMaxSizes = new Array<number>(2 + 2 * maxPorts).fill(QUEUE_SIZE);
    new DataView(this.config.buffer).setUint32(4, maxPorts, true);
    this.ports = opts.ports.map((spec) => ({
      spec, hostConnected: spec.hostConnected ?? true, guestOpen: false, ready: false, pending: [], pendingBytes: 0,
    }));
  }

  /** Whether the guest has port `port` open. */
  isGuestOpen(port: number): boolean {
    return this.ports[port]?.guestOpen ?? false;
  }

  /** Queues host bytes for the guest on port `port`. */
  writeToGuest(port: number, bytes: Uint8Array): void {
    const p = this.ports[port];
    if (!p) throw new RangeError(`${this.id}: no port ${port}`);
    if (p.pendingBytes + bytes.length > this.maxQueued) { this.bytesDropped += bytes.length; return; }
    p.pending.push(bytes.slice());
    p.pendingBytes += bytes.length;
    if (this.ctx?.live) this.flushPort(this.ctx, port);
  }

  /** Connects or disconnects the host side of a port (PORT_OPEN to the guest). */
  setHostConnected(port: number, connected: boolean): void {
    const p = this.ports[port];
    if (!p) throw new RangeError(`${this.id}: no port ${port}`);
    p.hostConnected = connected;
    if (p.ready) this.sendControl(port, VIRTIO_CONSOLE_PORT_OPEN, connected ? 1 : 0);
  }

  readConfig(offset: number, size: AccessSize): number {
    return readLe(this.config, offset, size);
  }

  writeConfig(offset: number): void {
    this.ctx?.misuse(`${this.id}: write to config offset ${offset} (EMERG_WRITE not offered)`);
  }

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
    for (let q = 0; q < this.queueMaxSizes.length; q++) this.queueNotify(q);
  }

  queueNotify(index: number): void {
    const ctx = this.ctx;
    if (!ctx?.live) return;
    const multiport = this.multiport(ctx);
    if (index === CONTROL_RX && multiport) { this.flushControl(ctx); return; }
    if (index === CONTROL_TX && multiport) { this.readControl(ctx); return; }
    const port = index < 2 ? 0 : (index >> 1) - 1;
    if (!multiport && index >= 2) return;
    if (index % 2 === 0) this.flushPort(ctx, port);
    else this.readPort(ctx, index, port);
  }

  reset(): void {
    this.ctx = null;
    this.controlOut.length = 0;
    for (const p of this.ports) {
      if (p.guestOpen) p.spec.onGuestOpen?.(false);
      p.guestOpen = false;
      p.ready = false;
    }
  }

  saveState(): DeviceState {
    return { v: 1, ports: this.ports.map((p) => ({ hostConnected: p.hostConnected, guestOpen: p.guestOpen, ready: p.ready })) };
  }

  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    const ports = s['ports'];
    if (!Array.isArray(ports) || ports.length !== this.ports.length) throw new Error(`${this.id}.ports: expected ${this.ports.length} entries`);
    const parsed = ports.map((p, i) => {
      const o = obj(`${this.id}.ports[${i}]`, p);
      for (const k of ['hostConnected', 'guestOpen', 'ready']) if (typeof o[k] !== 'boolean') throw new Error(`${this.id}.ports[${i}].${k}: boolean expected`);
      return { hostConnected: o['hostConnected'] as boolean, guestOpen: o['guestOpen'] as boolean, ready: o['ready'] as boolean };
    });
    this.controlOut.length = 0;
    parsed.forEach((p, i) => {
      const port = this.ports[i]!;
      port.hostConnected = p.hostConnected;
      port.guestOpen = p.guestOpen;
      port.ready = p.ready;
      port.pending = [];
      port.pendingBytes = 0;
    });
  }

  // ---- internals -------------------------------------------------------------------

  private multiport(ctx: VirtioDeviceContext): boolean {
    return (ctx.features & VIRTIO_CONSOLE_F_MULTIPORT) !== 0n;
  }

  private rxQueueOf(port: number): number {
    return port === 0 ? 0 : 2 + 2 * port;
  }

  private sendControl(id: number, event: number, value: number, extra?: Uint8Array): void {
    const msg = new Uint8Array(8 + (extra?.length ?? 0));
    const dv = new DataView(msg.buffer);
    dv.setUint32(0, id, true);
    dv.setUint16(4, event, true);
    dv.setUint16(6, value, true);
    if (extra) msg.set(extra, 8);
    this.controlOut.push(msg);
    if (this.ctx?.live) this.flushControl(this.ctx);
  }

  private flushControl(ctx: VirtioDeviceContext): void {
    const q = ctx.queue(CONTROL_RX);
    if (!q) return;
    let any = false;
    while (this.controlOut.length > 0) {
      const c = q.pop(ctx.memory);
      if (c === null) break;
      const msg = this.controlOut.shift()!;
      const n = Math.min(msg.length, c.writableBytes);
      if (n < msg.length) ctx.misuse(`${this.id}: control buffer of ${c.writableBytes} bytes truncates a ${msg.length}-byte message`);
      if (!c.write(ctx.memory, 0, msg.subarray(0, n))) { ctx.needsReset(`${this.id}: cannot write a control buffer`); return; }
      ctx.addUsed(CONTROL_RX, c.head, n);
      any = true;
    }
    if (any) ctx.signal(CONTROL_RX);
  }

  private readControl(ctx: VirtioDeviceContext): void {
    const q = ctx.queue(CONTROL_TX);
    if (!q) return;
    let any = false;
    for (let c = q.pop(ctx.memory); c !== null; c = q.pop(ctx.memory)) {
      any = true;
      ctx.addUsed(CONTROL_TX, c.head, 0);
      if (c.readableBytes < 8 || c.readableBytes > MAX_CONTROL_BYTES) { ctx.misuse(`${this.id}: control message of ${c.readableBytes} bytes`); continue; }
      const msg = c.readAll(ctx.memory);
      if (msg === null) { ctx.misuse(`${this.id}: cannot read a control message`); continue; }
      const dv = new DataView(msg.buffer);
      this.handleControl(ctx, dv.getUint32(0, true), dv.getUint16(4, true), dv.getUint16(6, true));
    }
    if (any) ctx.signal(CONTROL_TX);
  }

  private handleControl(ctx: VirtioDeviceContext, id: number, event: number, value: number): void {
    switch (event) {
      case VIRTIO_CONSOLE_DEVICE_READY:
        if (value !== 1) { ctx.misuse(`${this.id}: driver failed to initialise (DEVICE_READY ${value})`); return; }
        for (let i = 0; i < this.ports.length; i++) this.sendControl(i, VIRTIO_CONSOLE_DEVICE_ADD, 0);
        return;
      case VIRTIO_CONSOLE_PORT_READY: {
        const p = this.ports[id];
        if (!p) { ctx.misuse(`${this.id}: PORT_READY for unknown port ${id}`); return; }
        if (value !== 1) { ctx.misuse(`${this.id}: port ${id} failed to initialise`); return; }
        p.ready = true;
        if (p.spec.console) this.sendControl(id, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
        if (p.spec.name !== '') this.sendControl(id, VIRTIO_CONSOLE_PORT_NAME, 1, new TextEncoder().encode(p.spec.name));
        if (p.hostConnected) this.sendControl(id, VIRTIO_CONSOLE_PORT_OPEN, 1);
        return;
      }
      case VIRTIO_CONSOLE_PORT_OPEN: {
        const p = this.ports[id];
        if (!p) { ctx.misuse(`${this.id}: PORT_OPEN for unknown port ${id}`); return; }
        const open = value === 1;
        if (open !== p.guestOpen) { p.guestOpen = open; p.spec.onGuestOpen?.(open); }
        if (open) this.flushPort(ctx, id);
        return;
      }
      default:
        ctx.misuse(`${this.id}: unexpected control event ${event} for port ${id}`);
    }
  }

  private flushPort(ctx: VirtioDeviceContext, port: number): void {
    const p = this.ports[port];
    if (!p || p.pending.length === 0) return;
    const qi = this.rxQueueOf(port);
    const q = ctx.queue(qi);
    if (!q) return;
    let any = false;
    while (p.pending.length > 0) {
      const c = q.pop(ctx.memory);
      if (c === null) break;
      // Fill the buffer from as many queued chunks as fit.
      let at = 0;
      while (p.pending.length > 0 && at < c.writableBytes) {
        const chunk = p.pending[0]!;
        const n = Math.min(chunk.length, c.writableBytes - at);
        if (!c.write(ctx.memory, at, chunk.subarray(0, n))) { ctx.needsReset(`${this.id}: cannot write a port buffer`); return; }
        at += n;
        p.pendingBytes -= n;
        if (n === chunk.length) p.pending.shift();
        else p.pending[0] = chunk.subarray(n);
      }
      ctx.addUsed(qi, c.head, at);
      any = true;
    }
    if (any) ctx.signal(qi);
  }

  private readPort(ctx: VirtioDeviceContext, qi: number, port: number): void {
    const q = ctx.queue(qi);
    if (!q) return;
    const p = this.ports[port];
    let any = false;
    for (let c = q.pop(ctx.memory); c !== null; c = q.pop(ctx.memory)) {
      any = true;
      ctx.addUsed(qi, c.head, 0);
      if (!p) { ctx.misuse(`${this.id}: data on queue ${qi} of absent port ${port}`); continue; }
      if (c.readableBytes > 1024 * 1024) { ctx.misuse(`${this.id}: ${c.readableBytes}-byte write to port ${port} dropped`); continue; }
      const data = c.readAll(ctx.memory);
      if (data === null) { ctx.misuse(`${this.id}: cannot read port ${port} data`); continue; }
      if (data.length > 0) p.spec.onGuestData(data);
    }
    if (any) ctx.signal(qi);
  }
}
