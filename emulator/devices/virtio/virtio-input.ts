/**
 * virtio input device (virtio 1.2 §5.8): eventq (0) carries evdev events (struct
 * virtio_input_event: le16 type, le16 code, le32 value) to the driver, statusq (1)
 * carries events back (keyboard LEDs). The configuration space (§5.8.4: u8 select,
 * u8 subsel, u8 size, reserved[5], union u[128]) answers the driver's queries for the
 * name, ids, property bits, supported event codes per type and absolute axis ranges.
 *
 * Two profiles as QEMU's virtio-keyboard-pci and virtio-tablet-pci (modern-only PCI id
 * 0x1052): a keyboard (EV_KEY for codes 1..255, EV_LED num/caps/scroll, EV_REP) and a
 * tablet (BTN_LEFT/RIGHT/MIDDLE/SIDE/EXTRA, ABS_X/ABS_Y 0..32767, REL_WHEEL). Host
 * input is queued (bounded) while the guest has no event buffers; events of one report
 * are delivered with the closing SYN_REPORT.
 *
 * Left out: multitouch, virtio-input-host passthrough, FF (force feedback).
 */
import type { AccessSize, DeviceState } from '../device.js';
import { VIRTIO_ID_INPUT } from './virtio-constants.js';
import type { VirtioDevice, VirtioDeviceContext } from './virtio-device.js';
import { readLe } from './virtio-device.js';
import { obj, version } from '../state-check.js';

/** Config select values (§5.8.2). */
export const VIRTIO_INPUT_CFG_UNSET = 0x00;
export const VIRTIO_INPUT_CFG_ID_NAME = 0x01;
export const VIRTIO_INPUT_CFG_ID_SERIAL = 0x02;
export const VIRTIO_INPUT_CFG_ID_DEVIDS = 0x03;
export const VIRTIO_INPUT_CFG_PROP_BITS = 0x10;
export const VIRTIO_INPUT_CFG_EV_BITS = 0x11;
export const VIRTIO_INPUT_CFG_ABS_INFO = 0x12;
/** evdev event types and codes used here (linux/input-event-codes.h). */
export const EV_SYN = 0x00;
export const EV_KEY = 0x01;
export const EV_REL = 0x02;
export const EV_ABS = 0x03;
export const EV_LED = 0x11;
export const EV_REP = 0x14;
export const SYN_REPORT = 0;
export const BTN_LEFT = 0x110;
export const BTN_RIGHT = 0x111;
export const BTN_MIDDLE = 0x112;
export const BTN_SIDE = 0x113;
export const BTN_EXTRA = 0x114;
export const ABS_X = 0x00;
export const ABS_Y = 0x01;
export const REL_WHEEL = 0x08;
/** Absolute axis range of the tablet (as QEMU's INPUT_EVENT_ABS_MAX). */
export const TABLET_ABS_MAX = 0x7fff;

const CONFIG_BYTES = 136;
const QUEUE_SIZE = 64;
const EVENT_BYTES = 8;

/** One evdev event. */
export interface InputEvent {
  readonly type: number;
  readonly code: number;
  readonly value: number;
}

/** The device profile. */
export type VirtioInputKind = 'keyboard' | 'tablet';

/** Construction options of a virtio-input device. */
export interface VirtioInputOptions {
  readonly id: string;
  readonly kind: VirtioInputKind;
  /** Events the guest sent on statusq (LED state). */
  readonly onStatus?: (event: InputEvent) => void;
  /** Events kept while the guest has no buffers (default 256). */
  readonly maxQueuedEvents?: number;
}

interface Profile {
  name: string;
  product: number;
  evBits: Map<number, number[]>;
  abs: Map<number, { min: number; max: number }>;
}

function profileOf(kind: VirtioInputKind): Profile {
  if (kind === 'keyboard') {
    const keys: number[] = [];
    for (let k = 1; k < 256; k++) keys.push(k);
    return { name: 'QEMU Virtio Keyboard', product: 0x0001, abs: new Map(),
      evBits: new Map([[EV_KEY, keys], [EV_LED, [0, 1, 2]], [EV_REP, []]]) };
  }
  return { name: 'QEMU Virtio Tablet', product: 0x0003,
    evBits: new Map([[EV_KEY, [BTN_LEFT, BTN_RIGHT, BTN_MIDDLE, BTN_SIDE, BTN_EXTRA]], [EV_REL, [REL_WHEEL]], [EV_ABS, [ABS_X, ABS_Y]]]),
    abs: new Map([[ABS_X, { min: 0, max: TABLET_ABS_MAX }], [ABS_Y, { min: 0, max: TABLET_ABS_MAX }]]) };
}

/** virtio-input keyboard or tablet. */
export class VirtioInput implements VirtioDevice {
  readonly id: string;
  readonly deviceType = VIRTIO_ID_INPUT;
  readonly queueMaxSizes = [QUEUE_SIZE, QUEUE_SIZE];
  readonly deviceFeatures = 0n;
  readonly configSizeBytes = CONFIG_BYTES;
  /** Events dropped because the queue was full. */
  eventsDropped = 0;
  private readonly profile: Profile;
  private readonly config = new Uint8Array(CONFIG_BYTES);
  private readonly pending: InputEvent[] = [];
  private readonly maxQueued: number;
  private readonly onStatus: ((e: InputEvent) => void) | undefined;
  private ctx: VirtioDeviceContext | null = null;

  constructor(opts: VirtioInputOptions) {
    this.id = opts.id;
    this.profile = profileOf(opts.kind);
    this.maxQueued = opts.maxQueuedEvents ?? 256;
    this.onStatus = opts.onStatus;
  }

  /** Whether a driver has the device running (DRIVER_OK and not reset since). */
  get driverActive(): boolean {
    return this.ctx?.live === true;
  }

  /**
   * Tablet: the pointer from an absolute-position source (an RFB client) at (`x`, `y`) of a
   * `width` x `height` screen, RFB button mask `mask` (bit 0 left, 1 middle, 2 right, 3/4
   * wheel up/down), given the previous mask `lastMask`: ABS_X/ABS_Y scaled to 0..32767, the
   * buttons that changed, one REL_WHEEL step per wheel press (virtio 1.2 §5.8; evdev codes).
   */
  pointerFromScreen(x: number, y: number, width: number, height: number, mask: number, lastMask: number): void {
    const scale = (v: number, size: number): number => (size > 1 ? (v * TABLET_ABS_MAX) / (size - 1) : 0);
    const changes: Array<readonly [number, boolean]> = [];
    for (const [bit, code] of [[0x01, BTN_LEFT], [0x02, BTN_MIDDLE], [0x04, BTN_RIGHT]] as const) {
      if (((mask ^ lastMask) & bit) !== 0) changes.push([code, (mask & bit) !== 0]);
    }
    this.pointer(scale(x, width), scale(y, height), changes);
    const pressed = mask & ~lastMask;
    const wheel = ((pressed & 0x08) !== 0 ? 1 : 0) - ((pressed & 0x10) !== 0 ? 1 : 0);
    if (wheel !== 0) this.sendReport([{ type: EV_REL, code: REL_WHEEL, value: wheel }]);
  }

  /** Sends one report: the events, then SYN_REPORT. Dropped whole if the queue is full. */
  sendReport(events: readonly InputEvent[]): void {
    if (this.pending.length + events.length + 1 > this.maxQueued) { this.eventsDropped += events.length + 1; return; }
    this.pending.push(...events, { type: EV_SYN, code: SYN_REPORT, value: 0 });
    if (this.ctx?.live) this.flush(this.ctx);
  }

  /** Keyboard: a key (evdev code) pressed or released. */
  key(code: number, down: boolean): void {
    this.sendReport([{ type: EV_KEY, code, value: down ? 1 : 0 }]);
  }

  /** Tablet: absolute position (0..32767 on each axis) and button changes. */
  pointer(x: number, y: number, buttons: ReadonlyArray<readonly [number, boolean]> = []): void {
    const clamp = (v: number): number => Math.max(0, Math.min(TABLET_ABS_MAX, Math.round(v)));
    this.sendReport([
      { type: EV_ABS, code: ABS_X, value: clamp(x) }, { type: EV_ABS, code: ABS_Y, value: clamp(y) },
      ...buttons.map(([code, down]) => ({ type: EV_KEY, code, value: down ? 1 : 0 })),
    ]);
  }

  readConfig(offset: number, size: AccessSize): number {
    return readLe(this.config, offset, size);
  }

  writeConfig(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o === 0 || o === 1) this.config[o] = (value >>> (8 * i)) & 0xff;
    }
    if (offset <= 1) this.select(this.config[0]!, this.config[1]!);
  }

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
    this.queueNotify(1);
    this.flush(ctx);
  }

  queueNotify(index: number): void {
    const ctx = this.ctx;
    if (!ctx?.live) return;
    if (index === 0) { this.flush(ctx); return; }
    const q = ctx.queue(1);
    if (!q) return;
    let any = false;
    for (let c = q.pop(ctx.memory); c !== null; c = q.pop(ctx.memory)) {
      any = true;
      const b = new Uint8Array(EVENT_BYTES);
      if (c.readableBytes === EVENT_BYTES && c.read(ctx.memory, 0, b)) {
        const dv = new DataView(b.buffer);
        this.onStatus?.({ type: dv.getUint16(0, true), code: dv.getUint16(2, true), value: dv.getInt32(4, true) });
      } else ctx.misuse(`${this.id}: status buffer of ${c.readableBytes} bytes`);
      ctx.addUsed(1, c.head, 0);
    }
    if (any) ctx.signal(1);
  }

  reset(): void {
    this.ctx = null;
    this.pending.length = 0;
    this.config.fill(0);
  }

  saveState(): DeviceState {
    return { v: 1, select: this.config[0]!, subsel: this.config[1]! };
  }

  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    const sel = s['select'];
    const sub = s['subsel'];
    if (!Number.isInteger(sel) || !Number.isInteger(sub) || (sel as number) < 0 || (sel as number) > 255 || (sub as number) < 0 || (sub as number) > 255) throw new Error(`${this.id}: select/subsel must be bytes`);
    this.pending.length = 0;
    this.config[0] = sel as number;
    this.config[1] = sub as number;
    this.select(sel as number, sub as number);
  }

  private select(sel: number, sub: number): void {
    const u = this.config.subarray(8);
    u.fill(0);
    let size = 0;
    switch (sel) {
      case VIRTIO_INPUT_CFG_ID_NAME: {
        const name = new TextEncoder().encode(this.profile.name);
        u.set(name);
        size = name.length;
        break;
      }
      case VIRTIO_INPUT_CFG_ID_DEVIDS: {
        const dv = new DataView(u.buffer, u.byteOffset);
        dv.setUint16(0, 0x06, true); // BUS_VIRTUAL
        dv.setUint16(2, 0x0627, true); // QEMU's vendor
        dv.setUint16(4, this.profile.product, true);
        dv.setUint16(6, 0x0001, true);
        size = 8;
        break;
      }
      case VIRTIO_INPUT_CFG_EV_BITS: {
        const codes = this.profile.evBits.get(sub);
        if (codes === undefined) break;
        for (const c of codes) u[c >> 3]! |= 1 << (c & 7);
        size = codes.length === 0 ? 1 : (Math.max(...codes) >> 3) + 1;
        break;
      }
      case VIRTIO_INPUT_CFG_ABS_INFO: {
        const a = this.profile.abs.get(sub);
        if (a === undefined) break;
        const dv = new DataView(u.buffer, u.byteOffset);
        dv.setUint32(0, a.min, true);
        dv.setUint32(4, a.max, true);
        size = 20;
        break;
      }
      default:
        break; // UNSET, SERIAL, PROP_BITS: size 0
    }
    this.config[2] = size;
  }

  private flush(ctx: VirtioDeviceContext): void {
    const q = ctx.queue(0);
    if (!q) return;
    let any = false;
    while (this.pending.length > 0) {
      const c = q.pop(ctx.memory);
      if (c === null) break;
      const e = this.pending.shift()!;
      const b = new Uint8Array(EVENT_BYTES);
      const dv = new DataView(b.buffer);
      dv.setUint16(0, e.type, true);
      dv.setUint16(2, e.code, true);
      dv.setInt32(4, e.value, true);
      if (!c.write(ctx.memory, 0, b)) { ctx.misuse(`${this.id}: event buffer of ${c.writableBytes} bytes`); ctx.addUsed(0, c.head, 0); }
      else ctx.addUsed(0, c.head, EVENT_BYTES);
      any = true;
    }
    if (any) ctx.signal(0);
  }
}
